//! The connector API: what a connector and its tasks implement, and what the runtime offers
//! them. Mirrors Kafka Connect's `connect-api` (`Connector`, `SourceConnector`,
//! `SinkConnector`, `SourceTask`, `SinkTask` and their contexts) so its documentation
//! transfers; methods are async because kaflow runs tasks on tokio, not on a thread each.
//!
//! ```text
//!            ┌──────────── worker ────────────┐
//!  config ─▶ Connector::start ─▶ task_configs(max) ─▶ one config per task
//!                                                   │
//!  source:   SourceTask::poll ─▶ records ─▶ transforms ─▶ converters ─▶ producer
//!            offsets of acknowledged records ─▶ offset store ─▶ SourceTask::commit
//!  sink:     consumer ─▶ converters ─▶ transforms ─▶ SinkTask::put
//!            SinkTask::pre_commit(offsets) ─▶ what is safe ─▶ consumer group commit
//! ```

use crate::config::ConfigDef;
use crate::data::{SinkRecord, SourceMap, SourceRecord};
use async_trait::async_trait;
use std::collections::BTreeMap;

/// A connector or task configuration: string keys and values, as Connect passes them.
pub type Props = BTreeMap<String, String>;

/// An error a connector or task raises. `Retriable` errors make the runtime retry the same
/// operation (with the same records, for `put`); any other error fails the task, which then
/// shows as FAILED with the message as its trace.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConnectError {
    /// Try the same operation again later (Kafka's `RetriableException`).
    #[error("retriable: {0}")]
    Retriable(String),
    /// A bad configuration (Kafka's `ConfigException`).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Anything else (Kafka's `ConnectException`): the task fails.
    #[error("{0}")]
    Failed(String),
}

impl ConnectError {
    /// A failure from anything displayable.
    pub fn failed(e: impl std::fmt::Display) -> Self {
        ConnectError::Failed(e.to_string())
    }
}

/// Result of connector and task calls.
pub type ConnectResult<T> = Result<T, ConnectError>;

/// What the runtime lets a connector do.
pub trait ConnectorContext: Send + Sync {
    /// Asks the runtime to call `task_configs` again (the source of work changed).
    fn request_task_reconfiguration(&self);
    /// Fails the connector with this error.
    fn raise_error(&self, error: ConnectError);
}

/// Whether a source connector can deliver exactly once (KIP-618).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExactlyOnceSupport {
    /// It can.
    Supported,
    /// It can't.
    Unsupported,
}

/// A connector: splits its work into task configurations.
///
/// Lifecycle, in order:
/// 1. `config()` and `validate()` may be called at any time, also on an instance never started;
/// 2. `start(props)` once;
/// 3. `task_configs(max_tasks)` — again whenever the connector asks for reconfiguration;
/// 4. `stop()` once; the instance is then dropped.
#[async_trait]
pub trait Connector: Send {
    /// The connector's version, shown by the REST API.
    fn version(&self) -> String;
    /// The definition of the connector's own config keys.
    fn config(&self) -> ConfigDef;
    /// Starts with the connector's configuration.
    async fn start(&mut self, props: Props, ctx: std::sync::Arc<dyn ConnectorContext>) -> ConnectResult<()>;
    /// At most `max_tasks` task configurations.
    async fn task_configs(&mut self, max_tasks: usize) -> ConnectResult<Vec<Props>>;
    /// Stops; releases what `start` acquired.
    async fn stop(&mut self) -> ConnectResult<()>;
}

/// A source connector.
pub trait SourceConnector: Connector {
    /// Creates one task instance (the runtime starts it with one of `task_configs`).
    fn create_task(&self) -> Box<dyn SourceTask>;
    /// Exactly-once support for this configuration (KIP-618); unsupported by default.
    fn exactly_once_support(&self, _props: &Props) -> ExactlyOnceSupport {
        ExactlyOnceSupport::Unsupported
    }
}

/// A sink connector.
pub trait SinkConnector: Connector {
    /// Creates one task instance.
    fn create_task(&self) -> Box<dyn SinkTask>;
}

/// Reads the offsets committed for a source task's partitions.
pub trait OffsetReader: Send + Sync {
    /// The last committed offset of a source partition, if any.
    fn offset(&self, partition: &SourceMap) -> Option<SourceMap>;
}

/// What the runtime offers a source task.
pub trait SourceTaskContext: Send + Sync {
    /// The task's configuration.
    fn configs(&self) -> &Props;
    /// Committed offsets, to resume from.
    fn offset_reader(&self) -> &dyn OffsetReader;
}

/// A source task: reads from the external system.
///
/// Lifecycle, in order:
/// 1. `start(props, ctx)` once — read `ctx.offset_reader()` to resume;
/// 2. `poll()` repeatedly; `Ok(vec![])` means nothing right now (the runtime polls again);
///    `commit_record` is called for each record once Kafka acknowledged it (or it was dropped
///    by a transform or tolerated as an error) and `commit` after offsets were flushed;
/// 3. `stop()` once, possibly while a `poll` is pending (the runtime then drops that poll).
#[async_trait]
pub trait SourceTask: Send {
    /// Starts with the task's configuration.
    async fn start(&mut self, props: Props, ctx: std::sync::Arc<dyn SourceTaskContext>) -> ConnectResult<()>;
    /// The next records, or none for now.
    async fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>>;
    /// A record was acknowledged by Kafka (`None` metadata: dropped by a transform or an
    /// error tolerated).
    async fn commit_record(
        &mut self,
        _record: &SourceRecord,
        _metadata: Option<RecordMetadata>,
    ) -> ConnectResult<()> {
        Ok(())
    }
    /// Offsets up to the acknowledged records were flushed to the offset store.
    async fn commit(&mut self) -> ConnectResult<()> {
        Ok(())
    }
    /// Stops; releases what `start` acquired.
    async fn stop(&mut self) -> ConnectResult<()>;
}

/// Where Kafka put a source record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
}

/// A topic partition, as sink tasks see them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
}

/// What the runtime offers a sink task.
pub trait SinkTaskContext: Send + Sync {
    /// The task's configuration.
    fn configs(&self) -> &Props;
    /// The partitions currently assigned to the task.
    fn assignment(&self) -> Vec<TopicPartition>;
    /// Rewinds or skips: consume `tp` from `offset` next.
    fn reset_offset(&self, tp: TopicPartition, offset: i64);
    /// After a retriable error, wait this long before redelivering.
    fn timeout(&self, millis: u64);
    /// Stops consuming these partitions until resumed.
    fn pause(&self, partitions: &[TopicPartition]);
    /// Resumes paused partitions.
    fn resume(&self, partitions: &[TopicPartition]);
    /// Asks for an offset commit as soon as possible.
    fn request_commit(&self);
}

/// A sink task: writes to the external system.
///
/// Lifecycle, in order:
/// 1. `start(props, ctx)` once;
/// 2. `open(partitions)` when partitions are assigned;
/// 3. `put(records)` repeatedly; a `Retriable` error redelivers the same records after
///    `ctx.timeout`; any other error fails the task;
/// 4. `pre_commit(offsets)` before each commit: the task returns the offsets it has durably
///    written (the default flushes and returns them all); only those are committed;
/// 5. `close(partitions)` when partitions are revoked — after a final `pre_commit`;
/// 6. `stop()` once.
#[async_trait]
pub trait SinkTask: Send {
    /// Starts with the task's configuration.
    async fn start(&mut self, props: Props, ctx: std::sync::Arc<dyn SinkTaskContext>) -> ConnectResult<()>;
    /// Partitions were assigned.
    async fn open(&mut self, _partitions: &[TopicPartition]) -> ConnectResult<()> {
        Ok(())
    }
    /// Records to write.
    async fn put(&mut self, records: Vec<SinkRecord>) -> ConnectResult<()>;
    /// Makes everything `put` so far durable. `offsets` are the next offsets to consume.
    async fn flush(&mut self, _offsets: &BTreeMap<TopicPartition, i64>) -> ConnectResult<()> {
        Ok(())
    }
    /// The offsets safe to commit (by default: flush, then all of them).
    async fn pre_commit(
        &mut self,
        offsets: &BTreeMap<TopicPartition, i64>,
    ) -> ConnectResult<BTreeMap<TopicPartition, i64>> {
        self.flush(offsets).await?;
        Ok(offsets.clone())
    }
    /// Partitions were revoked.
    async fn close(&mut self, _partitions: &[TopicPartition]) -> ConnectResult<()> {
        Ok(())
    }
    /// Stops; releases what `start` acquired.
    async fn stop(&mut self) -> ConnectResult<()>;
}
