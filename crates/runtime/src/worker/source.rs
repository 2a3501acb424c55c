//! The source task loop (Connect's `WorkerSourceTask` / `AbstractWorkerSourceTask`).
//!
//! ```text
//!  SourceTask::poll ─▶ for each record: submit (partition, offset) to SubmittedRecords
//!      ─▶ transforms ─ dropped ─▶ ack at once (it is done)
//!      ─▶ key/value/header converters ─▶ producer.send ─▶ DeliveryFuture
//!  acks (delivery results) ─▶ SubmittedRecords::ack ─▶ commit_record
//!  every offset.flush.interval.ms (and at stop): acknowledged-prefix offsets ─▶ offset store
//!      ─▶ SourceTask::commit
//! ```
//!
//! Offsets are committed only for the acknowledged prefix of each source partition (I12). A
//! record that fails to transform, convert or be produced goes through the [`ErrorHandler`]: it
//! fails the task under `errors.tolerance=none` (nothing after it in its source partition is
//! committed) and is skipped, counted as done, under `all` (for produce failures that is
//! KIP-779's behaviour).

use super::errors::{ErrorHandler, Failed, Stage, StageError};
use super::submitted::{SubmittedRecords, Ticket};
use super::{Converters, OffsetStore, RecordTransform, TaskId};
use crate::connector::{ConnectError, ConnectResult, OffsetReader, Props, SourceTask, SourceTaskContext};
use crate::convert::RawHeader;
use crate::data::{SourceMap, SourceRecord};
use crate::storage::offset_codec;
use kaflow_client::producer::{DeliveryFuture, Producer, ProducerRecord};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Settings of one source task's loop.
#[derive(Debug, Clone)]
pub struct SourceLoopConfig {
    /// `offset.flush.interval.ms`.
    pub flush_interval: Duration,
    /// `offset.flush.timeout.ms`: how long a final flush waits for outstanding acks.
    pub flush_timeout: Duration,
}

struct Context {
    props: Props,
    connector: String,
    store: Arc<dyn OffsetStore>,
}

impl OffsetReader for Context {
    fn offset(&self, partition: &SourceMap) -> Option<SourceMap> {
        let bytes = self.store.get(&offset_codec::key(&self.connector, partition))?;
        offset_codec::parse_value(&bytes)
    }
}

impl SourceTaskContext for Context {
    fn configs(&self) -> &Props {
        &self.props
    }
    fn offset_reader(&self) -> &dyn OffsetReader {
        self
    }
}

/// Counters a status endpoint or a test reads.
#[derive(Debug, Default)]
pub struct SourceStats {
    /// Records polled from the task.
    pub polled: std::sync::atomic::AtomicU64,
    /// Records acknowledged by Kafka.
    pub written: std::sync::atomic::AtomicU64,
    /// Records dropped by a transform or skipped as tolerated errors.
    pub skipped: std::sync::atomic::AtomicU64,
    /// Offset flushes that wrote something.
    pub offset_commits: std::sync::atomic::AtomicU64,
    /// The topics written to (shared by the connector's tasks).
    pub topics: std::sync::Arc<super::ActiveTopics>,
}

/// Runs one source task until `stop` turns true or the task fails.
#[allow(clippy::too_many_arguments)]
pub async fn run_source_task(
    id: TaskId,
    mut task: Box<dyn SourceTask>,
    props: Props,
    mut transforms: Box<dyn RecordTransform<SourceRecord>>,
    converters: Converters,
    producer: Arc<Producer>,
    store: Arc<dyn OffsetStore>,
    cfg: SourceLoopConfig,
    errors: ErrorHandler,
    stats: Arc<SourceStats>,
    mut stop: watch::Receiver<bool>,
) -> ConnectResult<()> {
    use std::sync::atomic::Ordering::Relaxed;
    let ctx = Arc::new(Context {
        props: props.clone(),
        connector: id.connector.clone(),
        store: Arc::clone(&store),
    });
    task.start(props, ctx).await?;
    let mut submitted = SubmittedRecords::new();
    let mut pending: Vec<(Ticket, DeliveryFuture)> = Vec::new();
    let mut last_flush = Instant::now();
    let mut seen_topics = super::SeenTopics::default();
    let result: ConnectResult<()> = async {
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            let records = tokio::select! {
                r = task.poll() => r?,
                _ = stop.changed() => return Ok(()),
            };
            stats.polled.fetch_add(records.len() as u64, Relaxed);
            for record in records {
                let ticket = submitted.submit(&record.source_partition, record.source_offset.clone());
                let converted = match to_producer_record(&mut *transforms, &converters, &record) {
                    Err(e) if e.retriable => {
                        errors
                            .retry(e, || to_producer_record(&mut *transforms, &converters, &record))
                            .await
                    }
                    other => other,
                };
                if let Ok(Some(pr)) = &converted {
                    // Active topics (KIP-558): where the record goes, after transforms.
                    stats.topics.note(&mut seen_topics, &pr.topic);
                }
                match converted {
                    Ok(Some(pr)) => match producer.send(pr).await {
                        Ok(fut) => pending.push((ticket, fut)),
                        Err(e) => {
                            errors.handle(produce_error(e), Failed::Polled(&record)).await?;
                            stats.skipped.fetch_add(1, Relaxed);
                            submitted.ack(ticket);
                        }
                    },
                    Ok(None) => {
                        stats.skipped.fetch_add(1, Relaxed);
                        submitted.ack(ticket);
                    }
                    Err(e) => {
                        errors.handle(e, Failed::Polled(&record)).await?;
                        stats.skipped.fetch_add(1, Relaxed);
                        submitted.ack(ticket);
                    }
                }
            }
            for (ticket, e) in collect_acks(&mut pending, &mut submitted, &stats) {
                errors.handle(produce_error(e), Failed::Produce).await?;
                stats.skipped.fetch_add(1, Relaxed);
                submitted.ack(ticket);
            }
            if last_flush.elapsed() >= cfg.flush_interval {
                last_flush = Instant::now();
                flush_offsets(&id, &mut submitted, &*store, &stats).await?;
                task.commit().await?;
            }
        }
    }
    .await;
    // Stop or failure: wait (bounded) for what is in flight, then commit what is safe.
    let deadline = Instant::now() + cfg.flush_timeout;
    while !pending.is_empty() && Instant::now() < deadline {
        for (ticket, e) in collect_acks(&mut pending, &mut submitted, &stats) {
            // Only a tolerated failure counts as done; otherwise the offset stays uncommitted.
            if errors.tolerates() && errors.handle(produce_error(e), Failed::Produce).await.is_ok() {
                submitted.ack(ticket);
            }
        }
        if pending.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let flushed = flush_offsets(&id, &mut submitted, &*store, &stats).await;
    let stopped = task.stop().await;
    errors.close().await;
    result?;
    flushed?;
    stopped
}

/// A produce failure as the error handler sees it.
fn produce_error(e: impl std::fmt::Display) -> StageError {
    StageError {
        exception: "org.apache.kafka.connect.errors.ConnectException",
        ..StageError::data(
            Stage::KafkaProduce,
            "org.apache.kafka.clients.producer.KafkaProducer",
            format!("a record was not written: {e}"),
        )
    }
}

fn to_producer_record(
    transforms: &mut dyn RecordTransform<SourceRecord>,
    conv: &Converters,
    record: &SourceRecord,
) -> Result<Option<ProducerRecord>, StageError> {
    // The original stays with the caller (for the error log and retries); a copy is made
    // only for a transform chain to own.
    let transformed;
    let r = if transforms.is_identity() {
        &record.record
    } else {
        match transforms.apply(record.clone())? {
            Some(t) => {
                transformed = t;
                &transformed.record
            }
            None => return Ok(None),
        }
    };
    let mut headers: Vec<RawHeader> = Vec::with_capacity(r.headers.len());
    for h in r.headers.iter() {
        let v = conv
            .header
            .from_connect_header(&r.topic, &h.key, h.schema.as_ref(), &h.value)
            .map_err(|e| {
                StageError::data(
                    Stage::HeaderConverter,
                    conv.header.class_name(),
                    format!("header {}: {e}", h.key),
                )
            })?;
        headers.push(RawHeader {
            key: bytes::Bytes::copy_from_slice(h.key.as_bytes()),
            value: v,
        });
    }
    let key = conv
        .key
        .from_connect(&r.topic, &mut headers, r.key_schema.as_ref(), &r.key)
        .map_err(|e| StageError::data(Stage::KeyConverter, conv.key.class_name(), e.to_string()))?;
    let value = conv
        .value
        .from_connect(&r.topic, &mut headers, r.value_schema.as_ref(), &r.value)
        .map_err(|e| StageError::data(Stage::ValueConverter, conv.value.class_name(), e.to_string()))?;
    Ok(Some(ProducerRecord {
        topic: Arc::from(r.topic.as_str()),
        partition: r.kafka_partition,
        key,
        value,
        headers,
        timestamp: r.timestamp,
    }))
}

/// Acknowledges what Kafka acknowledged; returns the records Kafka refused. Until the error
/// handler tolerates a refused record, its offset (and every later one of its source partition)
/// stays uncommitted, so a restart sends it again.
fn collect_acks(
    pending: &mut Vec<(Ticket, DeliveryFuture)>,
    submitted: &mut SubmittedRecords,
    stats: &SourceStats,
) -> Vec<(Ticket, kaflow_client::producer::ProduceError)> {
    let mut failed = Vec::new();
    pending.retain(|(ticket, fut)| match fut.try_result() {
        None => true,
        Some(Ok(_)) => {
            submitted.ack(*ticket);
            stats.written.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            false
        }
        Some(Err(e)) => {
            failed.push((*ticket, e));
            false
        }
    });
    failed
}

async fn flush_offsets(
    id: &TaskId,
    submitted: &mut SubmittedRecords,
    store: &dyn OffsetStore,
    stats: &SourceStats,
) -> ConnectResult<()> {
    let committable = submitted.take_committable();
    if committable.is_empty() {
        return Ok(());
    }
    let batch: Vec<(Vec<u8>, Option<Vec<u8>>)> = committable
        .iter()
        .map(|(p, o)| {
            (
                offset_codec::key(&id.connector, p).to_vec(),
                Some(offset_codec::value(o).to_vec()),
            )
        })
        .collect();
    store
        .put_all(batch)
        .await
        .map_err(|e| ConnectError::Failed(format!("{id}: offset commit failed: {e}")))?;
    stats
        .offset_commits
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tracing::debug!(task = %id, partitions = committable.len(), "committed source offsets");
    Ok(())
}
