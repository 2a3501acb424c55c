//! What happens when one record can't be converted, transformed or produced: Connect's
//! `RetryWithToleranceOperator` with its `LogReporter` and `DeadLetterQueueReporter`.
//!
//! ```text
//!  a stage fails (converter, transform, produce)
//!     retriable? ─▶ retry with backoff (300 ms doubling, ≤ errors.retry.delay.max.ms)
//!                   until errors.retry.timeout (0: never, -1: forever)
//!     still failing ─▶ errors.log.enable: one ERROR line (the record only with
//!                      errors.log.include.messages)
//!        errors.tolerance=none ─▶ the task fails: "Tolerance exceeded in error handler"
//!        errors.tolerance=all  ─▶ sink: errors.deadletterqueue.topic.name gets the original
//!                                 bytes (+ __connect.errors.* headers), awaited
//!                               ─▶ the record counts as done (its offset may be committed)
//! ```
//!
//! One deviation from Connect, on purpose: Connect logs a failed dead-letter write and moves on,
//! so the record is then in neither topic. kaflow waits for the dead-letter write and fails the
//! task if it fails, so the consumed offset isn't committed past a record that went nowhere (I22).

use super::TaskId;
use crate::config::Parsed;
use crate::connector::{ConnectError, ConnectResult};
use bytes::Bytes;
use kaflow_client::admin::{Admin, NewTopic};
use kaflow_client::consumer::ConsumerRecord;
use kaflow_client::producer::{Producer, ProducerRecord};
use kaflow_client::records::Header;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Connect's first retry delay (`RetryWithToleranceOperator.RETRIES_DELAY_MIN_MS`).
const RETRY_DELAY_MIN: Duration = Duration::from_millis(300);

/// Prefix of the dead-letter context headers (`DeadLetterQueueReporter.HEADER_PREFIX`).
pub const HEADER_PREFIX: &str = "__connect.errors.";

/// Where in the pipeline a record failed (`org.apache.kafka.connect.runtime.errors.Stage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// `SourceTask::poll`.
    TaskPoll,
    /// `SinkTask::put`.
    TaskPut,
    /// A single message transform.
    Transformation,
    /// The key converter.
    KeyConverter,
    /// The value converter.
    ValueConverter,
    /// The header converter.
    HeaderConverter,
    /// Producing to Kafka.
    KafkaProduce,
    /// Consuming from Kafka.
    KafkaConsume,
}

impl Stage {
    /// Connect's name for the stage, as written in `__connect.errors.stage`.
    pub fn name(self) -> &'static str {
        match self {
            Stage::TaskPoll => "TASK_POLL",
            Stage::TaskPut => "TASK_PUT",
            Stage::Transformation => "TRANSFORMATION",
            Stage::KeyConverter => "KEY_CONVERTER",
            Stage::ValueConverter => "VALUE_CONVERTER",
            Stage::HeaderConverter => "HEADER_CONVERTER",
            Stage::KafkaProduce => "KAFKA_PRODUCE",
            Stage::KafkaConsume => "KAFKA_CONSUME",
        }
    }
}

/// One stage's failure on one record.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("stage {} ({class}) failed: {message}", .stage.name())]
pub struct StageError {
    /// Where.
    pub stage: Stage,
    /// The converter's or transform's (Kafka) class name.
    pub class: String,
    /// The Java exception class Connect would report (`DataException`, ...).
    pub exception: &'static str,
    /// What went wrong.
    pub message: String,
    /// Worth retrying (Connect's `RetriableException`).
    pub retriable: bool,
}

impl StageError {
    /// A non-retriable data error (`org.apache.kafka.connect.errors.DataException`).
    pub fn data(stage: Stage, class: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            stage,
            class: class.into(),
            exception: "org.apache.kafka.connect.errors.DataException",
            message: message.into(),
            retriable: false,
        }
    }
}

/// `errors.*` settings of one connector.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorsConfig {
    /// `errors.retry.timeout`: how long retriable failures are retried (`None`: forever, -1).
    pub retry_timeout: Option<Duration>,
    /// `errors.retry.delay.max.ms`.
    pub retry_delay_max: Duration,
    /// `errors.tolerance=all`.
    pub tolerate_all: bool,
    /// `errors.log.enable`.
    pub log_enable: bool,
    /// `errors.log.include.messages`.
    pub log_include_messages: bool,
}

impl Default for ErrorsConfig {
    /// Connect's defaults: no retries, no tolerance, no log.
    fn default() -> Self {
        Self {
            retry_timeout: Some(Duration::ZERO),
            retry_delay_max: Duration::from_millis(60_000),
            tolerate_all: false,
            log_enable: false,
            log_include_messages: false,
        }
    }
}

impl ErrorsConfig {
    /// Reads the `errors.*` keys of a parsed connector config (`connector::common_def`).
    pub fn from_parsed(p: &Parsed) -> Self {
        let d = Self::default();
        let timeout = p.long("errors.retry.timeout").unwrap_or(0);
        Self {
            retry_timeout: (timeout >= 0).then(|| Duration::from_millis(timeout as u64)),
            retry_delay_max: p
                .long("errors.retry.delay.max.ms")
                .map_or(d.retry_delay_max, |v| Duration::from_millis(v.max(0) as u64)),
            tolerate_all: p
                .string("errors.tolerance")
                .is_some_and(|t| t.eq_ignore_ascii_case("all")),
            log_enable: p.boolean("errors.log.enable"),
            log_include_messages: p.boolean("errors.log.include.messages"),
        }
    }
}

/// `errors.deadletterqueue.*` of a sink connector.
#[derive(Debug, Clone, PartialEq)]
pub struct DlqConfig {
    /// `errors.deadletterqueue.topic.name`.
    pub topic: String,
    /// `errors.deadletterqueue.topic.replication.factor` (used when the topic is created).
    pub replication_factor: i16,
    /// `errors.deadletterqueue.context.headers.enable`.
    pub context_headers: bool,
}

impl DlqConfig {
    /// The DLQ settings, or `None` when `errors.deadletterqueue.topic.name` is empty.
    pub fn from_parsed(p: &Parsed) -> Option<Self> {
        let topic = p.string("errors.deadletterqueue.topic.name").unwrap_or("").trim();
        (!topic.is_empty()).then(|| Self {
            topic: topic.to_string(),
            replication_factor: p
                .long("errors.deadletterqueue.topic.replication.factor")
                .unwrap_or(3) as i16,
            context_headers: p.boolean("errors.deadletterqueue.context.headers.enable"),
        })
    }
}

/// A sink's dead letter queue: a producer and the topic.
pub struct DeadLetterQueue {
    cfg: DlqConfig,
    topic: Arc<str>,
    producer: Arc<Producer>,
}

impl std::fmt::Debug for DeadLetterQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadLetterQueue")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl DeadLetterQueue {
    /// Creates the topic if it is missing (one partition, the configured replication factor,
    /// as `DeadLetterQueueReporter.createAndSetup`) and keeps the producer for it.
    pub async fn open(
        cfg: DlqConfig,
        admin: &Admin,
        producer: Arc<Producer>,
    ) -> Result<Self, kaflow_client::Error> {
        let exists = admin.list_topics().await?.contains(&cfg.topic);
        if !exists {
            let topic = NewTopic::new(&cfg.topic, 1).replication_factor(cfg.replication_factor);
            match admin.create_topic(topic).await {
                Ok(()) => tracing::info!(topic = %cfg.topic, "created the dead letter queue topic"),
                // Someone else created it meanwhile (TOPIC_ALREADY_EXISTS).
                Err(e) if e.code() == Some(36) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Self {
            topic: Arc::from(cfg.topic.as_str()),
            cfg,
            producer,
        })
    }

    /// Writes the original record (its bytes as consumed) with the context headers and waits
    /// for Kafka's acknowledgement.
    async fn send(&self, id: &TaskId, original: &ConsumerRecord, err: &StageError) -> Result<(), String> {
        let mut headers = original.headers.clone();
        if self.cfg.context_headers {
            let mut add = |name: &str, value: String| {
                headers.push(Header {
                    key: Bytes::from(format!("{HEADER_PREFIX}{name}")),
                    value: Some(Bytes::from(value)),
                })
            };
            add("topic", original.topic.to_string());
            add("partition", original.partition.to_string());
            add("offset", original.offset.to_string());
            add("connector.name", id.connector.clone());
            add("task.id", id.task.to_string());
            add("stage", err.stage.name().to_string());
            add("class.name", err.class.clone());
            add("exception.class.name", err.exception.to_string());
            add("exception.message", err.message.clone());
            add(
                "exception.stacktrace",
                format!("{}: {}", err.exception, err.message),
            );
        }
        let record = ProducerRecord {
            topic: Arc::clone(&self.topic),
            partition: None,
            key: original.key.clone(),
            value: original.value.clone(),
            headers,
            timestamp: (original.timestamp >= 0).then_some(original.timestamp),
        };
        let delivery = self.producer.send(record).await.map_err(|e| e.to_string())?;
        delivery.wait().await.map(|_| ()).map_err(|e| e.to_string())
    }

    /// Flushes and closes the producer.
    pub async fn close(&self) {
        self.producer.close().await;
    }
}

/// Connect's `task-error-metrics` counters.
#[derive(Debug, Default)]
pub struct ErrorStats {
    /// `total-record-failures`: failed attempts, retries included.
    pub record_failures: AtomicU64,
    /// `total-record-errors`: records that failed after retries.
    pub record_errors: AtomicU64,
    /// `total-records-skipped`: records skipped because errors are tolerated.
    pub records_skipped: AtomicU64,
    /// `total-retries`.
    pub retries: AtomicU64,
    /// `total-errors-logged`.
    pub errors_logged: AtomicU64,
    /// `deadletterqueue-produce-requests`.
    pub dlq_produce_requests: AtomicU64,
    /// `deadletterqueue-produce-failures`.
    pub dlq_produce_failures: AtomicU64,
}

/// What a failed record was, for the log line and the dead letter queue.
#[derive(Debug, Clone, Copy)]
pub enum Failed<'a> {
    /// A record a sink task consumed.
    Consumed(&'a ConsumerRecord),
    /// A record a source task polled (shown with `Debug`).
    Polled(&'a crate::data::SourceRecord),
    /// A source record Kafka refused (the record itself is no longer at hand).
    Produce,
}

/// One task's error handling.
#[derive(Debug)]
pub struct ErrorHandler {
    id: TaskId,
    cfg: ErrorsConfig,
    dlq: Option<DeadLetterQueue>,
    stats: Arc<ErrorStats>,
}

impl ErrorHandler {
    /// A handler with an optional dead letter queue (sinks only).
    pub fn new(id: TaskId, cfg: ErrorsConfig, dlq: Option<DeadLetterQueue>) -> Self {
        Self {
            id,
            cfg,
            dlq,
            stats: Arc::default(),
        }
    }

    /// The counters.
    pub fn stats(&self) -> &Arc<ErrorStats> {
        &self.stats
    }

    /// Whether errors are tolerated (`errors.tolerance=all`).
    pub fn tolerates(&self) -> bool {
        self.cfg.tolerate_all
    }

    /// Retries `op` after its retriable first failure `first`, backing off as Connect does,
    /// until it succeeds, fails for good, or `errors.retry.timeout` has passed.
    pub async fn retry<T>(
        &self,
        first: StageError,
        mut op: impl FnMut() -> Result<T, StageError>,
    ) -> Result<T, StageError> {
        self.stats.record_failures.fetch_add(1, Relaxed);
        let deadline = self.cfg.retry_timeout.map(|t| Instant::now() + t);
        let mut last = first;
        let mut attempt: u32 = 0;
        while last.retriable {
            let now = Instant::now();
            let mut delay = RETRY_DELAY_MIN
                .saturating_mul(1u32 << attempt.min(16))
                .min(self.cfg.retry_delay_max);
            if let Some(deadline) = deadline {
                if now >= deadline {
                    break;
                }
                delay = delay.min(deadline - now);
            }
            tokio::time::sleep(delay).await;
            attempt += 1;
            self.stats.retries.fetch_add(1, Relaxed);
            match op() {
                Ok(v) => return Ok(v),
                Err(e) => {
                    self.stats.record_failures.fetch_add(1, Relaxed);
                    last = e;
                }
            }
        }
        Err(last)
    }

    /// A record failed for good: log it, and either fail the task (`Err`, tolerance none) or
    /// dead-letter it and count it as skipped (`Ok`, tolerance all).
    pub async fn handle(&self, err: StageError, failed: Failed<'_>) -> ConnectResult<()> {
        self.stats.record_errors.fetch_add(1, Relaxed);
        if self.cfg.log_enable {
            self.stats.errors_logged.fetch_add(1, Relaxed);
            self.log(&err, failed);
        }
        if !self.cfg.tolerate_all {
            return Err(ConnectError::Failed(format!(
                "{}: Tolerance exceeded in error handler: {err}",
                self.id
            )));
        }
        if let (Some(dlq), Failed::Consumed(record)) = (&self.dlq, failed) {
            self.stats.dlq_produce_requests.fetch_add(1, Relaxed);
            if let Err(e) = dlq.send(&self.id, record, &err).await {
                self.stats.dlq_produce_failures.fetch_add(1, Relaxed);
                return Err(ConnectError::Failed(format!(
                    "{}: writing a failed record ({}-{} offset {}) to the dead letter queue {} failed: {e}",
                    self.id, record.topic, record.partition, record.offset, dlq.cfg.topic
                )));
            }
        }
        self.stats.records_skipped.fetch_add(1, Relaxed);
        Ok(())
    }

    fn log(&self, err: &StageError, failed: Failed<'_>) {
        // LogReporter's message: the stage, the class, and where the record came from; its
        // contents only with errors.log.include.messages (they may hold secrets).
        let record = match (failed, self.cfg.log_include_messages) {
            (Failed::Consumed(r), false) => {
                format!(
                    "{{topic='{}', partition={}, offset={}}}",
                    r.topic, r.partition, r.offset
                )
            }
            (Failed::Consumed(r), true) => format!(
                "{{topic='{}', partition={}, offset={}, key={:?}, value={:?}, timestamp={}}}",
                r.topic, r.partition, r.offset, r.key, r.value, r.timestamp
            ),
            (Failed::Polled(r), false) => format!("{{topic='{}'}}", r.record.topic),
            (Failed::Polled(r), true) => format!("{r:?}"),
            (Failed::Produce, _) => "not available".to_string(),
        };
        tracing::error!(
            task = %self.id,
            "Error encountered in task {}. Executing stage '{}' with class '{}', where {} record is {}. {}: {}",
            self.id,
            err.stage.name(),
            err.class,
            if matches!(failed, Failed::Consumed(_)) { "consumed" } else { "source" },
            record,
            err.exception,
            err.message
        );
    }

    /// Closes the dead letter queue's producer.
    pub async fn close(&self) {
        if let Some(dlq) = &self.dlq {
            dlq.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handler(cfg: ErrorsConfig) -> ErrorHandler {
        ErrorHandler::new(
            TaskId {
                connector: "c".into(),
                task: 0,
            },
            cfg,
            None,
        )
    }

    fn retriable() -> StageError {
        StageError {
            retriable: true,
            ..StageError::data(Stage::Transformation, "T", "not yet")
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retriable_failures_are_retried_until_success() {
        let h = handler(ErrorsConfig {
            retry_timeout: Some(Duration::from_secs(10)),
            ..ErrorsConfig::default()
        });
        let mut calls = 0;
        let r = h
            .retry(retriable(), || {
                calls += 1;
                if calls < 3 {
                    Err(retriable())
                } else {
                    Ok(calls)
                }
            })
            .await;
        assert_eq!(r, Ok(3));
        assert_eq!(h.stats().retries.load(Relaxed), 3);
        assert_eq!(h.stats().record_failures.load(Relaxed), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_stop_at_the_timeout_with_doubling_delays() {
        let h = handler(ErrorsConfig {
            retry_timeout: Some(Duration::from_millis(2000)),
            retry_delay_max: Duration::from_millis(1000),
            ..ErrorsConfig::default()
        });
        let start = Instant::now();
        let mut at = Vec::new();
        let r: Result<(), _> = h
            .retry(retriable(), || {
                at.push(start.elapsed().as_millis());
                Err(retriable())
            })
            .await;
        assert!(r.unwrap_err().retriable);
        // 300, +600, +1000 (capped), then the deadline at 2000.
        assert_eq!(at, [300, 900, 1900, 2000]);
    }

    #[tokio::test(start_paused = true)]
    async fn zero_timeout_means_no_retry_and_non_retriable_stops_at_once() {
        let h = handler(ErrorsConfig::default());
        let mut calls = 0;
        let r: Result<(), _> = h
            .retry(retriable(), || {
                calls += 1;
                Err(retriable())
            })
            .await;
        assert!(r.is_err());
        assert_eq!(calls, 0);
        let h = handler(ErrorsConfig {
            retry_timeout: None,
            ..ErrorsConfig::default()
        });
        let r: Result<(), _> = h
            .retry(retriable(), || {
                calls += 1;
                Err(StageError::data(Stage::KeyConverter, "K", "bad"))
            })
            .await;
        assert_eq!(r.unwrap_err().stage, Stage::KeyConverter);
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn tolerance_decides_between_failing_and_skipping() {
        let record = ConsumerRecord {
            topic: Arc::from("t"),
            partition: 0,
            offset: 7,
            timestamp: 0,
            timestamp_type: kaflow_client::records::TimestampType::CreateTime,
            key: None,
            value: Some(Bytes::from_static(b"x")),
            headers: Vec::new(),
            leader_epoch: None,
        };
        let err = StageError::data(
            Stage::ValueConverter,
            "org.apache.kafka.connect.json.JsonConverter",
            "bad",
        );
        let none = handler(ErrorsConfig {
            log_enable: true,
            ..ErrorsConfig::default()
        });
        let e = none
            .handle(err.clone(), Failed::Consumed(&record))
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("Tolerance exceeded in error handler"),
            "{e}"
        );
        assert_eq!(none.stats().errors_logged.load(Relaxed), 1);
        let all = handler(ErrorsConfig {
            tolerate_all: true,
            ..ErrorsConfig::default()
        });
        all.handle(err, Failed::Consumed(&record)).await.unwrap();
        assert_eq!(all.stats().records_skipped.load(Relaxed), 1);
        assert_eq!(all.stats().errors_logged.load(Relaxed), 0);
    }
}
