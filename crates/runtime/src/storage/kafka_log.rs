//! A Kafka topic read as a log of key/value updates: what Connect's `KafkaBasedLog` is to its
//! three internal topics (configs, offsets, status) in distributed mode.
//!
//! ```text
//!  open(topic) ── metadata: every partition ──▶ consumer assigned to all, from the beginning
//!
//!  read_to_end(apply)                             send_all([(key, value)])
//!    ├─ ListOffsets latest for every partition      ├─ producer: acks=all, idempotent, the
//!    │    (the end *at the call*)                   │   default partitioner (a key always goes
//!    └─ poll until every position ≥ its end ──▶     │   to the partition Java would choose)
//!         apply(record) in offset order per         └─ waits for every ack; an error names
//!         partition; returns how many were read          the topic and leaves nothing assumed
//! ```
//!
//! Reading to the end before acting is how Connect gets read-your-writes over Kafka: a worker
//! that reads to the end offsets taken *after* its own writes were acknowledged sees them, and
//! everything written before them by any other worker. Nothing here caches values: each store
//! (offsets, configs, status) applies records to its own index.

use bytes::Bytes;
use kaflow_client::admin::{Admin, OffsetSpec};
use kaflow_client::cluster::Cluster;
use kaflow_client::consumer::{Consumer, ConsumerConfig, ConsumerRecord, OffsetReset};
use kaflow_client::group::TopicPartition;
use kaflow_client::producer::{Producer, ProducerConfig, ProducerRecord};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Errors reading or writing an internal topic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KafkaLogError {
    /// The Kafka client failed (metadata, ListOffsets, fetch).
    #[error("topic {topic}: {error}")]
    Kafka {
        /// The topic.
        topic: String,
        /// The client's error.
        error: kaflow_client::Error,
    },
    /// A write was not acknowledged.
    #[error("topic {topic}: write not acknowledged: {error}")]
    Write {
        /// The topic.
        topic: String,
        /// The producer's error (the record may or may not be in the log).
        error: kaflow_client::producer::ProduceError,
    },
    /// The end of the topic was not reached in time.
    #[error("topic {topic}: could not read to the end within {waited:?} (behind: {behind})")]
    Timeout {
        /// The topic.
        topic: String,
        /// How long it tried.
        waited: Duration,
        /// The partitions not yet read to their end, with position and end.
        behind: String,
    },
}

/// One internal topic: a consumer of all its partitions and a producer to it.
#[derive(Debug)]
pub struct KafkaLog {
    topic: String,
    partitions: Vec<i32>,
    admin: Admin,
    consumer: tokio::sync::Mutex<Consumer>,
    producer: Producer,
    timeout: Duration,
}

impl KafkaLog {
    /// Opens `topic` (which must exist) for reading from its beginning and for writing.
    /// `timeout` bounds each [`Self::read_to_end`].
    pub async fn open(
        cluster: Arc<Cluster>,
        topic: &str,
        mut consumer: ConsumerConfig,
        mut producer: ProducerConfig,
        timeout: Duration,
    ) -> Result<Self, KafkaLogError> {
        let kafka = |error| KafkaLogError::Kafka {
            topic: topic.to_string(),
            error,
        };
        let md = cluster.await_topic(topic, timeout).await.map_err(kafka)?;
        let partitions: Vec<i32> = (0..md.partition_count(topic).unwrap_or(0)).collect();
        // An internal topic is read whole: committed and uncommitted data alike, as Connect's
        // KafkaBasedLog does (the worker's own writes are not transactional here).
        consumer.auto_offset_reset = OffsetReset::Earliest;
        producer.acks = kaflow_client::producer::Acks::All;
        let mut c = Consumer::with_cluster(Arc::clone(&cluster), consumer);
        c.assign(partitions.iter().map(|p| TopicPartition::new(topic, *p)));
        let tps: Vec<TopicPartition> = partitions
            .iter()
            .map(|p| TopicPartition::new(topic, *p))
            .collect();
        c.seek_to_beginning(&tps).await.map_err(kafka)?;
        let p = Producer::with_cluster(Arc::clone(&cluster), producer)
            .await
            .map_err(kafka)?;
        Ok(Self {
            topic: topic.to_string(),
            partitions,
            admin: Admin::new(cluster),
            consumer: tokio::sync::Mutex::new(c),
            producer: p,
            timeout,
        })
    }

    /// The topic's name.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Reads every record written before this call, handing each to `apply` (in offset order
    /// within a partition); returns how many it read.
    pub async fn read_to_end(&self, mut apply: impl FnMut(&ConsumerRecord)) -> Result<usize, KafkaLogError> {
        let kafka = |error| KafkaLogError::Kafka {
            topic: self.topic.clone(),
            error,
        };
        let ends = self
            .admin
            .list_offsets(&self.topic, &self.partitions, OffsetSpec::Latest)
            .await
            .map_err(kafka)?;
        let ends: BTreeMap<TopicPartition, i64> = ends
            .into_iter()
            .map(|(p, o)| (TopicPartition::new(self.topic.as_str(), p), o.offset))
            .collect();
        let mut consumer = self.consumer.lock().await;
        let deadline = Instant::now() + self.timeout;
        let mut read = 0;
        loop {
            let behind: Vec<String> = ends
                .iter()
                .filter_map(|(tp, end)| {
                    let at = consumer.position(tp).unwrap_or(0);
                    (at < *end).then(|| format!("{tp} at {at} of {end}"))
                })
                .collect();
            if behind.is_empty() {
                return Ok(read);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(KafkaLogError::Timeout {
                    topic: self.topic.clone(),
                    waited: self.timeout,
                    behind: behind.join(", "),
                });
            }
            for r in consumer
                .poll(left.min(Duration::from_millis(500)))
                .await
                .map_err(kafka)?
            {
                read += 1;
                apply(&r);
            }
        }
    }

    /// Writes `records` (a `None` value is a tombstone) and waits until every one is
    /// acknowledged; the first failure is returned (later records may be in the log).
    pub async fn send_all(&self, records: Vec<(Option<Bytes>, Option<Bytes>)>) -> Result<(), KafkaLogError> {
        let write = |error| KafkaLogError::Write {
            topic: self.topic.clone(),
            error,
        };
        let mut pending = Vec::with_capacity(records.len());
        for (key, value) in records {
            let mut r = ProducerRecord::new(self.topic.as_str(), Bytes::new());
            r.value = value;
            r.key = key;
            pending.push(self.producer.send(r).await.map_err(write)?);
        }
        for p in pending {
            p.wait().await.map_err(write)?;
        }
        Ok(())
    }

    /// Flushes and closes the producer and the consumer.
    pub async fn close(&self) {
        self.producer.close().await;
        self.consumer.lock().await.close().await;
    }
}
