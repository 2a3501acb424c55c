//! The config topic's records, with Kafka Connect's keys and JSON values
//! (`KafkaConfigBackingStore`), and [`ConfigState`]: the snapshot a worker builds by reading
//! the topic in offset order.
//!
//! ```text
//!  key                       value (JSON, schemaless)                       tombstone
//!  connector-<c>             {"properties":{...}}                           on delete
//!  task-<c>-<n>              {"properties":{...}}                           -
//!  commit-<c>                {"tasks":<n>}                                   -
//!  target-state-<c>          {"state":"PAUSED","state.v2":"STOPPED"}        on delete
//!  session-key               {"key":"<base64>","algorithm":..,"creation-timestamp":<ms>}
//!  restart-connector-<c>     {"include-tasks":bool,"only-failed":bool}
//!  tasks-fencing-<c>         {"task-count":<n>}                             (KIP-618)
//!  logger-cluster-<ns>       {"level":"DEBUG"}                              (KIP-976)
//! ```
//!
//! Task configs are written one record per task, then `commit-<c>` with the count: a reader
//! keeps task records aside and applies them only when the commit arrives with every task
//! `0..n` among them (a set cut short by compaction leaves the connector *inconsistent*: no
//! tasks until the next complete commit), so a half-written set is never run.
//!
//! A record that cannot be read decodes to a [`ConfigRecordError`]; the reader skips it (the
//! herder logs it) and the offset still advances, as Connect does.

use super::protocol::TaskId;
use super::record_json::{string_map, Fields, Obj, ValueError};
use crate::convert::json::node::{base64_decode, base64_encode};
use crate::herder::TargetState;
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};

/// Connector configuration: `connector-<name>`.
pub const CONNECTOR_PREFIX: &str = "connector-";
/// A task's configuration: `task-<connector>-<n>`.
pub const TASK_PREFIX: &str = "task-";
/// A task-config commit: `commit-<connector>`.
pub const COMMIT_TASKS_PREFIX: &str = "commit-";
/// A target state: `target-state-<connector>`.
pub const TARGET_STATE_PREFIX: &str = "target-state-";
/// The session key (KIP-507).
pub const SESSION_KEY_KEY: &str = "session-key";
/// A restart request: `restart-connector-<connector>` (KIP-745).
pub const RESTART_PREFIX: &str = "restart-connector-";
/// The task count fenced for exactly-once source: `tasks-fencing-<connector>` (KIP-618).
pub const TASK_COUNT_RECORD_PREFIX: &str = "tasks-fencing-";
/// A cluster-wide log level: `logger-cluster-<namespace>` (KIP-976).
pub const LOGGER_CLUSTER_PREFIX: &str = "logger-cluster-";

/// The key of a config-topic record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigKey {
    /// `connector-<name>`.
    Connector(String),
    /// `task-<connector>-<n>`.
    Task(TaskId),
    /// `commit-<connector>`.
    Commit(String),
    /// `target-state-<connector>`.
    TargetState(String),
    /// `session-key`.
    SessionKey,
    /// `restart-connector-<connector>`.
    Restart(String),
    /// `tasks-fencing-<connector>`.
    TaskCount(String),
    /// `logger-cluster-<namespace>`.
    LoggerLevel(String),
}

impl ConfigKey {
    /// Reads a record key.
    pub fn parse(key: &str) -> Result<Self, ConfigRecordError> {
        let bad = || ConfigRecordError::Key(key.to_string());
        // Longer prefixes first: `restart-connector-x` is not connector `-x`'s key.
        if key == SESSION_KEY_KEY {
            return Ok(Self::SessionKey);
        }
        if let Some(c) = key.strip_prefix(RESTART_PREFIX) {
            return Ok(Self::Restart(c.to_string()));
        }
        if let Some(c) = key.strip_prefix(CONNECTOR_PREFIX) {
            return Ok(Self::Connector(c.to_string()));
        }
        if let Some(rest) = key.strip_prefix(TASK_PREFIX) {
            let (c, n) = rest.rsplit_once('-').ok_or_else(bad)?;
            let n: i32 = n.parse().ok().filter(|n| *n >= 0).ok_or_else(bad)?;
            return Ok(Self::Task(TaskId::new(c, n)));
        }
        if let Some(c) = key.strip_prefix(COMMIT_TASKS_PREFIX) {
            return Ok(Self::Commit(c.to_string()));
        }
        if let Some(c) = key.strip_prefix(TARGET_STATE_PREFIX) {
            return Ok(Self::TargetState(c.to_string()));
        }
        if let Some(c) = key.strip_prefix(TASK_COUNT_RECORD_PREFIX) {
            return Ok(Self::TaskCount(c.to_string()));
        }
        if let Some(ns) = key.strip_prefix(LOGGER_CLUSTER_PREFIX) {
            return Ok(Self::LoggerLevel(ns.to_string()));
        }
        Err(bad())
    }
}

impl std::fmt::Display for ConfigKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connector(c) => write!(f, "{CONNECTOR_PREFIX}{c}"),
            Self::Task(t) => write!(f, "{TASK_PREFIX}{}-{}", t.connector, t.task),
            Self::Commit(c) => write!(f, "{COMMIT_TASKS_PREFIX}{c}"),
            Self::TargetState(c) => write!(f, "{TARGET_STATE_PREFIX}{c}"),
            Self::SessionKey => f.write_str(SESSION_KEY_KEY),
            Self::Restart(c) => write!(f, "{RESTART_PREFIX}{c}"),
            Self::TaskCount(c) => write!(f, "{TASK_COUNT_RECORD_PREFIX}{c}"),
            Self::LoggerLevel(ns) => write!(f, "{LOGGER_CLUSTER_PREFIX}{ns}"),
        }
    }
}

/// The session key workers sign internal requests with (KIP-507).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionKey {
    /// The raw key bytes (base64 on the wire).
    pub key: Vec<u8>,
    /// The MAC algorithm (`HmacSHA256`).
    pub algorithm: String,
    /// When the leader made it (ms since the epoch).
    pub creation_timestamp_ms: i64,
}

/// A restart request (KIP-745).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RestartRequest {
    /// Restart the tasks too.
    pub include_tasks: bool,
    /// Only what has failed.
    pub only_failed: bool,
}

/// One config-topic record, typed. `None` values are tombstones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigRecord {
    /// A connector's config; `None`: the connector was deleted.
    Connector {
        /// The connector.
        name: String,
        /// Its properties.
        properties: Option<BTreeMap<String, String>>,
    },
    /// One task's config (applied at the connector's next commit).
    Task {
        /// The task.
        id: TaskId,
        /// Its properties.
        properties: BTreeMap<String, String>,
    },
    /// The task configs written before it, `0..tasks`, take effect.
    Commit {
        /// The connector.
        connector: String,
        /// How many tasks.
        tasks: u32,
    },
    /// A connector's target state; `None`: removed with the connector.
    TargetState {
        /// The connector.
        connector: String,
        /// The state.
        state: Option<TargetState>,
    },
    /// The cluster's session key.
    SessionKey(SessionKey),
    /// Restart a connector (and maybe its tasks).
    Restart {
        /// The connector.
        connector: String,
        /// What to restart.
        request: RestartRequest,
    },
    /// The task count fenced for exactly-once source.
    TaskCount {
        /// The connector.
        connector: String,
        /// The count.
        task_count: u32,
    },
    /// A cluster-wide log level.
    LoggerLevel {
        /// The logger namespace.
        namespace: String,
        /// The level.
        level: String,
    },
}

/// A config-topic record that can't be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigRecordError {
    /// The key is not one Connect writes.
    #[error("config topic: unrecognised key {0:?}")]
    Key(String),
    /// The key is not UTF-8 (or absent).
    #[error("config topic: record key is not a UTF-8 string")]
    KeyNotUtf8,
    /// A tombstone where Connect never writes one.
    #[error("config topic: unexpected tombstone for {0}")]
    Tombstone(String),
    /// The value is not what Connect writes for the key.
    #[error("config topic: invalid value for {key}: {error}")]
    Value {
        /// The record key.
        key: String,
        /// What is wrong.
        error: ValueError,
    },
}

fn target_state_name(s: TargetState) -> &'static str {
    match s {
        TargetState::Started => "STARTED",
        TargetState::Paused => "PAUSED",
        TargetState::Stopped => "STOPPED",
    }
}

fn parse_target_state(field: &'static str, s: &str) -> Result<TargetState, ValueError> {
    match s {
        "STARTED" => Ok(TargetState::Started),
        "PAUSED" => Ok(TargetState::Paused),
        "STOPPED" => Ok(TargetState::Stopped),
        other => Err(ValueError::Invalid {
            field,
            value: other.to_string(),
        }),
    }
}

fn count(f: &Fields, field: &'static str) -> Result<u32, ValueError> {
    let n = f.int(field)?;
    u32::try_from(n)
        .ok()
        .filter(|n| *n <= i32::MAX as u32)
        .ok_or(ValueError::Invalid {
            field,
            value: n.to_string(),
        })
}

impl ConfigRecord {
    /// The record key.
    pub fn key(&self) -> ConfigKey {
        match self {
            Self::Connector { name, .. } => ConfigKey::Connector(name.clone()),
            Self::Task { id, .. } => ConfigKey::Task(id.clone()),
            Self::Commit { connector, .. } => ConfigKey::Commit(connector.clone()),
            Self::TargetState { connector, .. } => ConfigKey::TargetState(connector.clone()),
            Self::SessionKey(_) => ConfigKey::SessionKey,
            Self::Restart { connector, .. } => ConfigKey::Restart(connector.clone()),
            Self::TaskCount { connector, .. } => ConfigKey::TaskCount(connector.clone()),
            Self::LoggerLevel { namespace, .. } => ConfigKey::LoggerLevel(namespace.clone()),
        }
    }

    /// The record value as Connect writes it (`None`: a tombstone). A STOPPED target state
    /// also writes `state` PAUSED, for workers older than KIP-875.
    pub fn value(&self) -> Option<Bytes> {
        Some(match self {
            Self::Connector { properties, .. } => Obj::default()
                .node("properties", string_map(properties.as_ref()?))
                .bytes(),
            Self::Task { properties, .. } => {
                Obj::default().node("properties", string_map(properties)).bytes()
            }
            Self::Commit { tasks, .. } => Obj::default().num("tasks", (*tasks).into()).bytes(),
            Self::TargetState { state, .. } => {
                let s = (*state)?;
                let v0 = if s == TargetState::Stopped {
                    TargetState::Paused
                } else {
                    s
                };
                Obj::default()
                    .str("state", target_state_name(v0))
                    .str("state.v2", target_state_name(s))
                    .bytes()
            }
            Self::SessionKey(k) => Obj::default()
                .str("key", &base64_encode(&k.key))
                .str("algorithm", &k.algorithm)
                .num("creation-timestamp", k.creation_timestamp_ms)
                .bytes(),
            Self::Restart { request, .. } => Obj::default()
                .bool("include-tasks", request.include_tasks)
                .bool("only-failed", request.only_failed)
                .bytes(),
            Self::TaskCount { task_count, .. } => {
                Obj::default().num("task-count", (*task_count).into()).bytes()
            }
            Self::LoggerLevel { level, .. } => Obj::default().str("level", level).bytes(),
        })
    }

    /// Reads a record (`value` `None`: a tombstone).
    pub fn decode(key: Option<&[u8]>, value: Option<&[u8]>) -> Result<Self, ConfigRecordError> {
        let key_str = key
            .and_then(|k| std::str::from_utf8(k).ok())
            .ok_or(ConfigRecordError::KeyNotUtf8)?;
        let k = ConfigKey::parse(key_str)?;
        let verr = |error| ConfigRecordError::Value {
            key: key_str.to_string(),
            error,
        };
        let fields = match value {
            Some(v) => Some(Fields::parse(v).map_err(verr)?),
            None => None,
        };
        let Some(f) = fields else {
            return match k {
                ConfigKey::Connector(name) => Ok(Self::Connector {
                    name,
                    properties: None,
                }),
                ConfigKey::TargetState(connector) => Ok(Self::TargetState {
                    connector,
                    state: None,
                }),
                _ => Err(ConfigRecordError::Tombstone(key_str.to_string())),
            };
        };
        let rec = (|| -> Result<Self, ValueError> {
            Ok(match k {
                ConfigKey::Connector(name) => Self::Connector {
                    name,
                    properties: Some(f.string_map("properties")?),
                },
                ConfigKey::Task(id) => Self::Task {
                    id,
                    properties: f.string_map("properties")?,
                },
                ConfigKey::Commit(connector) => Self::Commit {
                    connector,
                    tasks: count(&f, "tasks")?,
                },
                ConfigKey::TargetState(connector) => {
                    // state.v2 when present (KIP-875), else the v1 field.
                    let state = match f.opt_str("state.v2")? {
                        Some(s) => parse_target_state("state.v2", s)?,
                        None => parse_target_state("state", f.str("state")?)?,
                    };
                    Self::TargetState {
                        connector,
                        state: Some(state),
                    }
                }
                ConfigKey::SessionKey => {
                    let encoded = f.str("key")?;
                    let key = base64_decode(encoded).ok_or_else(|| ValueError::Invalid {
                        field: "key",
                        value: encoded.to_string(),
                    })?;
                    Self::SessionKey(SessionKey {
                        key,
                        algorithm: f.str("algorithm")?.to_string(),
                        creation_timestamp_ms: f.int("creation-timestamp")?,
                    })
                }
                // Connect defaults a missing or non-boolean flag to false.
                ConfigKey::Restart(connector) => Self::Restart {
                    connector,
                    request: RestartRequest {
                        include_tasks: f.lenient_bool("include-tasks").unwrap_or(false),
                        only_failed: f.lenient_bool("only-failed").unwrap_or(false),
                    },
                },
                ConfigKey::TaskCount(connector) => Self::TaskCount {
                    connector,
                    task_count: count(&f, "task-count")?,
                },
                ConfigKey::LoggerLevel(namespace) => Self::LoggerLevel {
                    namespace,
                    level: f.str("level")?.to_string(),
                },
            })
        })();
        rec.map_err(verr)
    }
}

/// What reading one record changed, for the herder to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigChange {
    /// A connector was created or reconfigured.
    ConnectorUpdated(String),
    /// A connector was deleted (its tasks and target state with it).
    ConnectorRemoved(String),
    /// A task config was stored, waiting for its commit.
    TaskDeferred(TaskId),
    /// A connector's task configs took effect.
    TasksCommitted(String),
    /// A commit arrived without all its task configs (compaction): the connector has no tasks
    /// until the next complete commit.
    TasksInconsistent(String),
    /// A commit for a connector that doesn't exist (deleted; compaction removed its config).
    CommitIgnored(String),
    /// A connector's target state changed (or was removed).
    TargetStateChanged(String),
    /// A new session key.
    SessionKeyChanged,
    /// A restart was requested.
    RestartRequested(String, RestartRequest),
    /// The fenced task count was recorded.
    TaskCountRecorded(String),
    /// A cluster-wide log level was set.
    LoggerLevel(String, String),
}

/// The cluster's configuration as read from the config topic up to [`ConfigState::offset`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigState {
    offset: i64,
    connectors: BTreeMap<String, BTreeMap<String, String>>,
    target_states: BTreeMap<String, TargetState>,
    task_counts: BTreeMap<String, u32>,
    tasks: BTreeMap<TaskId, BTreeMap<String, String>>,
    deferred: BTreeMap<String, BTreeMap<i32, BTreeMap<String, String>>>,
    inconsistent: BTreeSet<String>,
    session_key: Option<SessionKey>,
    fenced_task_counts: BTreeMap<String, u32>,
}

impl ConfigState {
    /// Nothing read yet.
    pub fn new() -> Self {
        Self {
            offset: -1,
            ..Self::default()
        }
    }

    /// The offset after the last record read (-1: none), the `config-offset` a worker sends.
    pub fn offset(&self) -> i64 {
        self.offset
    }

    /// Reads the record at `offset` (records must come in offset order). A record that can't
    /// be read is skipped — the offset still advances — and its error returned for the log.
    pub fn apply(
        &mut self,
        offset: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Result<ConfigChange, ConfigRecordError> {
        self.offset = self.offset.max(offset + 1);
        let rec = ConfigRecord::decode(key, value)?;
        Ok(self.apply_record(rec))
    }

    /// Applies a decoded record (without moving the offset).
    pub fn apply_record(&mut self, rec: ConfigRecord) -> ConfigChange {
        match rec {
            ConfigRecord::Connector {
                name,
                properties: Some(p),
            } => {
                self.connectors.insert(name.clone(), p);
                ConfigChange::ConnectorUpdated(name)
            }
            ConfigRecord::Connector {
                name,
                properties: None,
            } => {
                self.connectors.remove(&name);
                self.target_states.remove(&name);
                self.task_counts.remove(&name);
                self.tasks.retain(|t, _| t.connector != name);
                self.deferred.remove(&name);
                self.inconsistent.remove(&name);
                ConfigChange::ConnectorRemoved(name)
            }
            ConfigRecord::Task { id, properties } => {
                self.deferred
                    .entry(id.connector.clone())
                    .or_default()
                    .insert(id.task, properties);
                ConfigChange::TaskDeferred(id)
            }
            ConfigRecord::Commit { connector, tasks } => {
                let deferred = self.deferred.remove(&connector).unwrap_or_default();
                if !self.connectors.contains_key(&connector) {
                    return ConfigChange::CommitIgnored(connector);
                }
                let complete = (0..tasks).all(|i| deferred.contains_key(&(i as i32)));
                if !complete {
                    self.inconsistent.insert(connector.clone());
                    self.task_counts.insert(connector.clone(), tasks);
                    return ConfigChange::TasksInconsistent(connector);
                }
                self.inconsistent.remove(&connector);
                self.tasks.retain(|t, _| t.connector != connector);
                for (n, props) in deferred.into_iter().filter(|(n, _)| (*n as i64) < tasks as i64) {
                    self.tasks.insert(TaskId::new(connector.clone(), n), props);
                }
                self.task_counts.insert(connector.clone(), tasks);
                ConfigChange::TasksCommitted(connector)
            }
            ConfigRecord::TargetState { connector, state } => {
                match state {
                    Some(s) => self.target_states.insert(connector.clone(), s),
                    None => self.target_states.remove(&connector),
                };
                ConfigChange::TargetStateChanged(connector)
            }
            ConfigRecord::SessionKey(k) => {
                self.session_key = Some(k);
                ConfigChange::SessionKeyChanged
            }
            ConfigRecord::Restart { connector, request } => {
                ConfigChange::RestartRequested(connector, request)
            }
            ConfigRecord::TaskCount {
                connector,
                task_count,
            } => {
                self.fenced_task_counts.insert(connector.clone(), task_count);
                ConfigChange::TaskCountRecorded(connector)
            }
            ConfigRecord::LoggerLevel { namespace, level } => ConfigChange::LoggerLevel(namespace, level),
        }
    }

    /// The configured connectors.
    pub fn connectors(&self) -> impl Iterator<Item = &str> {
        self.connectors.keys().map(String::as_str)
    }

    /// A connector's config.
    pub fn connector_config(&self, name: &str) -> Option<&BTreeMap<String, String>> {
        self.connectors.get(name)
    }

    /// A connector's target state (STARTED until one is written).
    pub fn target_state(&self, name: &str) -> Option<TargetState> {
        self.connectors.contains_key(name).then(|| {
            self.target_states
                .get(name)
                .copied()
                .unwrap_or(TargetState::Started)
        })
    }

    /// A connector's committed task configs, `0..n` in order (none while inconsistent).
    pub fn tasks(&self, name: &str) -> Vec<(TaskId, &BTreeMap<String, String>)> {
        if self.inconsistent.contains(name) {
            return Vec::new();
        }
        let n = self.task_counts.get(name).copied().unwrap_or(0);
        (0..n as i32)
            .filter_map(|i| {
                let id = TaskId::new(name, i);
                self.tasks.get(&id).map(|p| (id, p))
            })
            .collect()
    }

    /// A task's committed config.
    pub fn task_config(&self, id: &TaskId) -> Option<&BTreeMap<String, String>> {
        (!self.inconsistent.contains(&id.connector))
            .then(|| self.tasks.get(id))
            .flatten()
            .filter(|_| (id.task as i64) < self.task_counts.get(&id.connector).copied().unwrap_or(0) as i64)
    }

    /// Connectors whose last commit lacked task configs.
    pub fn inconsistent(&self) -> impl Iterator<Item = &str> {
        self.inconsistent.iter().map(String::as_str)
    }

    /// The session key, once one was written.
    pub fn session_key(&self) -> Option<&SessionKey> {
        self.session_key.as_ref()
    }

    /// The fenced task count of a connector (exactly-once source).
    pub fn fenced_task_count(&self, name: &str) -> Option<u32> {
        self.fenced_task_counts.get(name).copied()
    }

    /// What the leader assigns from: each connector and its task count (0 while inconsistent).
    pub fn assignment_snapshot(&self) -> super::LeaderSnapshot {
        super::LeaderSnapshot {
            offset: self.offset,
            connectors: self
                .connectors
                .keys()
                .map(|c| (c.clone(), self.tasks(c).len() as u32))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn props(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn encode(r: &ConfigRecord) -> (String, Option<Bytes>) {
        (r.key().to_string(), r.value())
    }

    #[test]
    fn connects_keys_and_values() {
        let cases = [
            (
                ConfigRecord::Connector {
                    name: "src".into(),
                    properties: Some(props(&[
                        ("connector.class", "FileStreamSource"),
                        ("tasks.max", "2"),
                    ])),
                },
                "connector-src",
                Some(r#"{"properties":{"connector.class":"FileStreamSource","tasks.max":"2"}}"#),
            ),
            (
                ConfigRecord::Connector {
                    name: "src".into(),
                    properties: None,
                },
                "connector-src",
                None,
            ),
            (
                ConfigRecord::Task {
                    id: TaskId::new("my-src", 1),
                    properties: props(&[("file", "/tmp/a\n")]),
                },
                "task-my-src-1",
                Some(r#"{"properties":{"file":"/tmp/a\n"}}"#),
            ),
            (
                ConfigRecord::Commit {
                    connector: "src".into(),
                    tasks: 2,
                },
                "commit-src",
                Some(r#"{"tasks":2}"#),
            ),
            (
                ConfigRecord::TargetState {
                    connector: "src".into(),
                    state: Some(TargetState::Stopped),
                },
                "target-state-src",
                Some(r#"{"state":"PAUSED","state.v2":"STOPPED"}"#),
            ),
            (
                ConfigRecord::SessionKey(SessionKey {
                    key: vec![1, 2, 3, 4],
                    algorithm: "HmacSHA256".into(),
                    creation_timestamp_ms: 1_700_000_000_000,
                }),
                "session-key",
                Some(r#"{"key":"AQIDBA==","algorithm":"HmacSHA256","creation-timestamp":1700000000000}"#),
            ),
            (
                ConfigRecord::Restart {
                    connector: "src".into(),
                    request: RestartRequest {
                        include_tasks: true,
                        only_failed: false,
                    },
                },
                "restart-connector-src",
                Some(r#"{"include-tasks":true,"only-failed":false}"#),
            ),
        ];
        for (rec, key, value) in cases {
            let (k, v) = encode(&rec);
            assert_eq!(k, key);
            assert_eq!(v.as_deref(), value.map(str::as_bytes), "{key}");
            assert_eq!(ConfigRecord::decode(Some(k.as_bytes()), v.as_deref()), Ok(rec));
        }
    }

    #[test]
    fn garbage_decodes_to_typed_errors() {
        let d = |k: &str, v: Option<&str>| ConfigRecord::decode(Some(k.as_bytes()), v.map(str::as_bytes));
        assert_eq!(
            d("bogus-x", Some("{}")),
            Err(ConfigRecordError::Key("bogus-x".into()))
        );
        assert_eq!(
            d("task-x-y", Some("{}")),
            Err(ConfigRecordError::Key("task-x-y".into()))
        );
        assert_eq!(
            d("commit-x", None),
            Err(ConfigRecordError::Tombstone("commit-x".into()))
        );
        let e = d("connector-x", Some("not json")).unwrap_err();
        assert!(
            matches!(
                e,
                ConfigRecordError::Value {
                    error: ValueError::Json(_),
                    ..
                }
            ),
            "{e}"
        );
        let e = d("commit-x", Some(r#"{"tasks":"3"}"#)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "config topic: invalid value for commit-x: field `tasks` should be a number but is STRING"
        );
        let e = d("target-state-x", Some(r#"{"state":"RUNNING"}"#)).unwrap_err();
        assert!(e.to_string().contains("invalid value \"RUNNING\""), "{e}");
        assert_eq!(
            ConfigRecord::decode(Some(&[0xff]), None),
            Err(ConfigRecordError::KeyNotUtf8)
        );
        // the v1 field alone is read; v2 wins when both are there
        assert_eq!(
            d("target-state-x", Some(r#"{"state":"PAUSED"}"#)).unwrap(),
            ConfigRecord::TargetState {
                connector: "x".into(),
                state: Some(TargetState::Paused)
            }
        );
        // restart flags default to false
        assert_eq!(
            d("restart-connector-x", Some(r#"{"include-tasks":"yes"}"#)).unwrap(),
            ConfigRecord::Restart {
                connector: "x".into(),
                request: RestartRequest::default()
            }
        );
    }

    struct Log {
        state: ConfigState,
        next: i64,
    }

    impl Log {
        fn new() -> Self {
            Self {
                state: ConfigState::new(),
                next: 0,
            }
        }
        fn put(&mut self, rec: ConfigRecord) -> ConfigChange {
            let (k, v) = encode(&rec);
            let off = self.next;
            self.next += 1;
            self.state.apply(off, Some(k.as_bytes()), v.as_deref()).unwrap()
        }
    }

    fn task(c: &str, n: i32, v: &str) -> ConfigRecord {
        ConfigRecord::Task {
            id: TaskId::new(c, n),
            properties: props(&[("v", v)]),
        }
    }

    fn commit(c: &str, n: u32) -> ConfigRecord {
        ConfigRecord::Commit {
            connector: c.into(),
            tasks: n,
        }
    }

    #[test]
    fn task_configs_take_effect_only_at_their_commit() {
        let mut log = Log::new();
        log.put(ConfigRecord::Connector {
            name: "c".into(),
            properties: Some(props(&[("tasks.max", "2")])),
        });
        assert_eq!(log.state.target_state("c"), Some(TargetState::Started));
        log.put(task("c", 0, "a"));
        log.put(task("c", 1, "b"));
        assert!(log.state.tasks("c").is_empty(), "not before the commit");
        assert_eq!(log.put(commit("c", 2)), ConfigChange::TasksCommitted("c".into()));
        assert_eq!(log.state.tasks("c").len(), 2);
        assert_eq!(log.state.offset(), 4);
        // a reconfiguration to one task: the old two stay until the new commit
        log.put(task("c", 0, "z"));
        assert_eq!(log.state.task_config(&TaskId::new("c", 0)).unwrap()["v"], "a");
        log.put(commit("c", 1));
        assert_eq!(log.state.tasks("c").len(), 1);
        assert_eq!(log.state.task_config(&TaskId::new("c", 0)).unwrap()["v"], "z");
        assert_eq!(log.state.task_config(&TaskId::new("c", 1)), None);
        assert_eq!(log.state.assignment_snapshot().connectors["c"], 1);
    }

    #[test]
    fn a_commit_missing_task_configs_makes_the_connector_inconsistent() {
        let mut log = Log::new();
        log.put(ConfigRecord::Connector {
            name: "c".into(),
            properties: Some(props(&[])),
        });
        // compaction kept only task 1 of the set
        log.put(task("c", 1, "b"));
        assert_eq!(
            log.put(commit("c", 2)),
            ConfigChange::TasksInconsistent("c".into())
        );
        assert!(log.state.tasks("c").is_empty());
        assert_eq!(log.state.inconsistent().collect::<Vec<_>>(), ["c"]);
        assert_eq!(log.state.assignment_snapshot().connectors["c"], 0);
        // the next complete set heals it
        log.put(task("c", 0, "x"));
        log.put(task("c", 1, "y"));
        log.put(commit("c", 2));
        assert_eq!(log.state.tasks("c").len(), 2);
        assert_eq!(log.state.inconsistent().count(), 0);
    }

    #[test]
    fn deleting_a_connector_removes_its_tasks_and_state() {
        let mut log = Log::new();
        log.put(ConfigRecord::Connector {
            name: "c".into(),
            properties: Some(props(&[])),
        });
        log.put(task("c", 0, "a"));
        log.put(commit("c", 1));
        log.put(ConfigRecord::TargetState {
            connector: "c".into(),
            state: Some(TargetState::Paused),
        });
        assert_eq!(log.state.target_state("c"), Some(TargetState::Paused));
        assert_eq!(
            log.put(ConfigRecord::Connector {
                name: "c".into(),
                properties: None
            }),
            ConfigChange::ConnectorRemoved("c".into())
        );
        log.put(ConfigRecord::TargetState {
            connector: "c".into(),
            state: None,
        });
        assert_eq!(log.state.connectors().count(), 0);
        assert!(log.state.tasks("c").is_empty());
        assert_eq!(log.state.target_state("c"), None);
        // a late commit for the deleted connector is ignored
        log.put(task("c", 0, "a"));
        assert_eq!(log.put(commit("c", 1)), ConfigChange::CommitIgnored("c".into()));
    }

    #[test]
    fn a_garbage_record_is_skipped_and_the_offset_advances() {
        let mut s = ConfigState::new();
        assert!(s.apply(0, Some(b"connector-x"), Some(b"{oops")).is_err());
        assert_eq!(s.offset(), 1);
        assert_eq!(s.connectors().count(), 0);
    }

    proptest! {
        #[test]
        fn any_bytes_decode_without_panicking(k in proptest::collection::vec(any::<u8>(), 0..24),
                                              v in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..48))) {
            let _ = ConfigRecord::decode(Some(&k), v.as_deref());
        }

        #[test]
        fn records_round_trip(name in "[a-z][a-z0-9-]{0,10}", n in 0..50i32, tasks in 0..1000u32,
                              kv in proptest::collection::btree_map("\\PC{0,8}", "\\PC{0,8}", 0..4)) {
            for rec in [
                ConfigRecord::Connector { name: name.clone(), properties: Some(kv.clone()) },
                ConfigRecord::Task { id: TaskId::new(name.clone(), n), properties: kv.clone() },
                ConfigRecord::Commit { connector: name.clone(), tasks },
                ConfigRecord::TaskCount { connector: name.clone(), task_count: tasks },
            ] {
                let (k, v) = encode(&rec);
                prop_assert_eq!(ConfigRecord::decode(Some(k.as_bytes()), v.as_deref()), Ok(rec));
            }
        }
    }
}
