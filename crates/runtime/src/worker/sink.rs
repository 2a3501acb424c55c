//! The sink task loop (Connect's `WorkerSinkTask`).
//!
//! ```text
//!  GroupConsumer (group connect-<name>) ─▶ records ─▶ header/key/value converters
//!     ─▶ SinkRecord ─▶ transforms ─▶ SinkTask::put (a Retriable error redelivers the same batch)
//!  every offset.flush.interval.ms and at stop: SinkTask::pre_commit(consumed positions)
//!     ─▶ the offsets the task says are written ─▶ consumer group commit
//!  partitions revoked by a rebalance: pre_commit(their positions) ─▶ committed while still
//!     owned ─▶ SinkTask::close(them) ─▶ the rebalance goes on (the next owner starts there, I24)
//! ```
//!
//! Only what `pre_commit` returns is committed (I12): a crash re-delivers everything after it.
//! A record that fails to convert or transform goes through the [`ErrorHandler`]: the task
//! fails (`errors.tolerance=none`) or the record is dead-lettered and skipped (`all`).

use super::errors::{ErrorHandler, Failed, Stage, StageError};
use super::{Converters, RecordTransform, TaskId};
use crate::connector::{ConnectError, ConnectResult, Props, SinkTask, SinkTaskContext, TopicPartition};
use crate::data::{ConnectRecord, Headers, SinkRecord, TimestampType};
use kaflow_client::consumer::{ConsumerRecord, GroupConsumer};
use kaflow_client::group::OffsetAndMetadata;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Settings of one sink task's loop.
#[derive(Debug, Clone)]
pub struct SinkLoopConfig {
    /// `offset.flush.interval.ms`.
    pub flush_interval: Duration,
}

#[derive(Debug, Default)]
struct Requests {
    assignment: BTreeSet<TopicPartition>,
    commit: bool,
    timeout: Option<Duration>,
}

struct Context {
    props: Props,
    requests: Mutex<Requests>,
}

impl Context {
    fn lock(&self) -> std::sync::MutexGuard<'_, Requests> {
        self.requests.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl SinkTaskContext for Context {
    fn configs(&self) -> &Props {
        &self.props
    }
    fn assignment(&self) -> Vec<TopicPartition> {
        self.lock().assignment.iter().cloned().collect()
    }
    fn reset_offset(&self, tp: TopicPartition, offset: i64) {
        tracing::warn!(partition = %format!("{}-{}", tp.topic, tp.partition), offset, "SinkTaskContext.offset(...) is not supported yet; ignored");
    }
    fn timeout(&self, millis: u64) {
        self.lock().timeout = Some(Duration::from_millis(millis));
    }
    fn pause(&self, _partitions: &[TopicPartition]) {
        tracing::warn!("SinkTaskContext.pause is not supported yet; ignored");
    }
    fn resume(&self, _partitions: &[TopicPartition]) {}
    fn request_commit(&self) {
        self.lock().commit = true;
    }
}

/// Counters a status endpoint or a test reads.
#[derive(Debug, Default)]
pub struct SinkStats {
    /// Records given to `put`.
    pub put: std::sync::atomic::AtomicU64,
    /// Records dropped by a transform or skipped as tolerated errors.
    pub skipped: std::sync::atomic::AtomicU64,
    /// Offset commits.
    pub offset_commits: std::sync::atomic::AtomicU64,
    /// The topics read from (shared by the connector's tasks).
    pub topics: std::sync::Arc<super::ActiveTopics>,
}

fn to_sink_record(conv: &Converters, r: &ConsumerRecord) -> Result<SinkRecord, StageError> {
    let topic: &str = &r.topic;
    let mut headers = Headers::new();
    for h in &r.headers {
        let key = String::from_utf8_lossy(&h.key).into_owned();
        let sv = conv
            .header
            .to_connect_header(topic, &key, h.value.as_ref())
            .map_err(|e| {
                StageError::data(
                    Stage::HeaderConverter,
                    conv.header.class_name(),
                    format!("header {key}: {e}"),
                )
            })?;
        headers.add(key, sv.schema, sv.value);
    }
    let key = conv
        .key
        .to_connect(topic, &r.headers, r.key.as_ref())
        .map_err(|e| StageError::data(Stage::KeyConverter, conv.key.class_name(), e.to_string()))?;
    let value = conv
        .value
        .to_connect(topic, &r.headers, r.value.as_ref())
        .map_err(|e| StageError::data(Stage::ValueConverter, conv.value.class_name(), e.to_string()))?;
    Ok(SinkRecord {
        record: ConnectRecord {
            topic: topic.to_string(),
            kafka_partition: Some(r.partition),
            key_schema: key.schema,
            key: key.value,
            value_schema: value.schema,
            value: value.value,
            timestamp: Some(r.timestamp),
            headers,
        },
        kafka_offset: r.offset,
        timestamp_type: match r.timestamp_type {
            kaflow_client::records::TimestampType::CreateTime => TimestampType::CreateTime,
            kaflow_client::records::TimestampType::LogAppendTime => TimestampType::LogAppendTime,
        },
    })
}

fn tp_of(r: &ConsumerRecord) -> TopicPartition {
    TopicPartition {
        topic: r.topic.to_string(),
        partition: r.partition,
    }
}

/// Runs one sink task until `stop` turns true or the task fails.
#[allow(clippy::too_many_arguments)]
pub async fn run_sink_task(
    id: TaskId,
    mut task: Box<dyn SinkTask>,
    props: Props,
    mut transforms: Box<dyn RecordTransform<SinkRecord>>,
    converters: Converters,
    mut consumer: GroupConsumer,
    cfg: SinkLoopConfig,
    errors: ErrorHandler,
    stats: Arc<SinkStats>,
    mut stop: watch::Receiver<bool>,
) -> ConnectResult<()> {
    use std::sync::atomic::Ordering::Relaxed;
    let ctx = Arc::new(Context {
        props: props.clone(),
        requests: Mutex::default(),
    });
    task.start(props, Arc::clone(&ctx) as Arc<dyn SinkTaskContext>)
        .await?;
    let mut revocations = consumer.revocations();
    let mut owned: BTreeSet<TopicPartition> = BTreeSet::new();
    let mut seen_topics = super::SeenTopics::default();
    let mut consumed: BTreeMap<TopicPartition, i64> = BTreeMap::new();
    let mut last_flush = Instant::now();
    let result: ConnectResult<()> = async {
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            let polled = tokio::select! {
                biased;
                _ = stop.changed() => return Ok(()),
                Some(revocation) = revocations.recv() => {
                    let revoked: BTreeSet<TopicPartition> = revocation
                        .partitions
                        .iter()
                        .map(|tp| TopicPartition { topic: tp.topic.to_string(), partition: tp.partition })
                        .collect();
                    let positions: BTreeMap<TopicPartition, i64> = consumed
                        .iter()
                        .filter(|(tp, _)| revoked.contains(*tp))
                        .map(|(tp, o)| (tp.clone(), *o))
                        .collect();
                    let safe = if positions.is_empty() {
                        BTreeMap::new()
                    } else {
                        task.pre_commit(&positions).await?
                    };
                    if !safe.is_empty() {
                        stats.offset_commits.fetch_add(1, Relaxed);
                    }
                    revocation.commit(to_group_offsets(safe));
                    let closing: Vec<TopicPartition> = owned.intersection(&revoked).cloned().collect();
                    if !closing.is_empty() {
                        task.close(&closing).await?;
                    }
                    for tp in &closing {
                        owned.remove(tp);
                        consumed.remove(tp);
                    }
                    ctx.lock().assignment = owned.clone();
                    continue;
                }
                r = consumer.poll(Duration::from_millis(500)) => r.map_err(|e| ConnectError::Failed(format!("{id}: consuming failed: {e}")))?,
            };
            // Partitions moved: tell the task before it sees their records.
            let now_owned: BTreeSet<TopicPartition> = consumer
                .assignment()
                .into_iter()
                .map(|tp| TopicPartition { topic: tp.topic, partition: tp.partition })
                .collect();
            if now_owned != owned {
                let removed: Vec<TopicPartition> = owned.difference(&now_owned).cloned().collect();
                let added: Vec<TopicPartition> = now_owned.difference(&owned).cloned().collect();
                if !removed.is_empty() {
                    task.close(&removed).await?;
                    for tp in &removed {
                        consumed.remove(tp);
                    }
                }
                if !added.is_empty() {
                    task.open(&added).await?;
                }
                ctx.lock().assignment = now_owned.clone();
                owned = now_owned;
            }
            let mut batch = Vec::with_capacity(polled.len());
            for r in &polled {
                stats.topics.note(&mut seen_topics, &r.topic);
                let mut convert = || to_sink_record(&converters, r).and_then(|s| transforms.apply(s));
                let converted = match convert() {
                    Err(e) if e.retriable => errors.retry(e, convert).await,
                    other => other,
                };
                match converted {
                    Ok(Some(s)) => batch.push(s),
                    Ok(None) => {
                        stats.skipped.fetch_add(1, Relaxed);
                    }
                    Err(e) => {
                        // Fails the task, or dead-letters the record and carries on.
                        errors.handle(e, Failed::Consumed(r)).await?;
                        stats.skipped.fetch_add(1, Relaxed);
                    }
                }
            }
            if !batch.is_empty() {
                let n = batch.len() as u64;
                loop {
                    match task.put(batch.clone()).await {
                        Ok(()) => break,
                        Err(ConnectError::Retriable(why)) => {
                            let wait = ctx.lock().timeout.take().unwrap_or(Duration::from_millis(100));
                            tracing::info!(task = %id, why, ?wait, "put is retriable: redelivering the same records");
                            tokio::select! {
                                _ = tokio::time::sleep(wait) => {}
                                _ = stop.changed() => return Ok(()),
                            }
                        }
                        Err(e) => return Err(e),
                    }
                }
                stats.put.fetch_add(n, Relaxed);
            }
            for r in &polled {
                consumed.insert(tp_of(r), r.offset + 1);
            }
            let asked = std::mem::take(&mut ctx.lock().commit);
            if asked || last_flush.elapsed() >= cfg.flush_interval {
                last_flush = Instant::now();
                commit(&id, &mut *task, &consumer, &consumed, &stats).await?;
            }
        }
    }
    .await;
    let committed = if result.is_ok() {
        commit(&id, &mut *task, &consumer, &consumed, &stats).await
    } else {
        Ok(())
    };
    let owned: Vec<TopicPartition> = owned.into_iter().collect();
    let closed = task.close(&owned).await;
    let stopped = task.stop().await;
    if let Err(e) = consumer.close().await {
        tracing::debug!(task = %id, error = %e, "leaving the consumer group failed");
    }
    errors.close().await;
    result?;
    committed?;
    closed?;
    stopped
}

fn to_group_offsets(
    safe: BTreeMap<TopicPartition, i64>,
) -> BTreeMap<kaflow_client::group::TopicPartition, OffsetAndMetadata> {
    safe.into_iter()
        .map(|(tp, o)| {
            (
                kaflow_client::group::TopicPartition::new(tp.topic, tp.partition),
                OffsetAndMetadata::new(o),
            )
        })
        .collect()
}

async fn commit(
    id: &TaskId,
    task: &mut dyn SinkTask,
    consumer: &GroupConsumer,
    consumed: &BTreeMap<TopicPartition, i64>,
    stats: &SinkStats,
) -> ConnectResult<()> {
    if consumed.is_empty() {
        return Ok(());
    }
    let offsets = to_group_offsets(task.pre_commit(consumed).await?);
    if offsets.is_empty() {
        return Ok(());
    }
    match consumer.group().commit(&offsets).await {
        Ok(()) => {
            stats
                .offset_commits
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        }
        // A rebalance in progress: the next commit carries these offsets again.
        Err(e) => {
            tracing::warn!(task = %id, error = %e, "offset commit failed; will retry at the next flush");
            Ok(())
        }
    }
}
