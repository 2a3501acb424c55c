//! The producer: batching, partitioning, compression, idempotence, delivery results.
//!
//! ```text
//!  Producer::send(record)                         caller's task
//!     ├─ partition: explicit │ murmur2(key) (Java's default) │ sticky for unkeyed (KIP-480)
//!     ├─ reserve buffer.memory (waits ≤ max.block.ms)
//!     └─ append into the partition's open batch ─▶ DeliveryFuture (batch completion + index)
//!                         │
//!  sender task            ▼ (sender.rs)
//!     ready batches ─▶ (epoch, sequence) ─▶ one Produce request per leader ─▶ broker sink
//!     answers ─▶ complete │ retry same bytes │ KIP-360 epoch bump │ fail (NotPersisted / PossiblyPersisted)
//! ```
//!
//! Every record gets exactly one result (invariant I1): an offset, or a [`ProduceError`] that
//! says whether the record may be in the log anyway. `close()` drains or reports everything.
//!
//! With `transactional.id` the producer is transactional ([`transaction`]): `init_transactions`,
//! then `begin_transaction`, `send`s, optionally `send_offsets_to_transaction`, and
//! `commit_transaction` or `abort_transaction`.

mod accumulator;
mod batch;
pub mod config;
pub mod partitioner;
mod sender;
pub mod transaction;

pub use batch::{DeliveryFuture, ProduceError, RecordMetadata};
pub use config::{Acks, ProducerConfig};
pub use transaction::{GroupMetadata, TransactionError, TransactionState, TransactionStats, TxnOffset};

use crate::broker::Traffic;
use crate::cluster::Cluster;
use crate::config::backoff;
use crate::error::{BrokerError, Error, Outcome, Result};
use crate::records::Header;
use accumulator::{Accumulator, RecordRef};
use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{InitProducerIdRequest, ProducerId};
use sender::{Command, ProducerIds, Sender};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;
use transaction::TxnManager;

/// A record to send.
#[derive(Debug, Clone)]
pub struct ProducerRecord {
    /// Topic.
    pub topic: Arc<str>,
    /// Explicit partition; otherwise chosen from the key (or sticky when there is none).
    pub partition: Option<i32>,
    /// Key.
    pub key: Option<Bytes>,
    /// Value (`None`: a tombstone).
    pub value: Option<Bytes>,
    /// Headers (duplicate keys allowed, as in Kafka).
    pub headers: Vec<Header>,
    /// Timestamp in ms since the epoch; now when unset.
    pub timestamp: Option<i64>,
}

impl ProducerRecord {
    /// A record with a value and nothing else.
    pub fn new(topic: impl Into<Arc<str>>, value: impl Into<Bytes>) -> Self {
        Self {
            topic: topic.into(),
            partition: None,
            key: None,
            value: Some(value.into()),
            headers: Vec::new(),
            timestamp: None,
        }
    }

    /// Sets the key.
    pub fn key(mut self, key: impl Into<Bytes>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets the partition.
    pub fn partition(mut self, p: i32) -> Self {
        self.partition = Some(p);
        self
    }

    /// Adds a header.
    pub fn header(mut self, key: impl AsRef<[u8]>, value: Option<impl AsRef<[u8]>>) -> Self {
        self.headers.push(Header::new(key, value));
        self
    }

    /// Sets the timestamp.
    pub fn timestamp(mut self, ts: i64) -> Self {
        self.timestamp = Some(ts);
        self
    }
}

/// Counters for observability and for fault tests that must prove their fault fired.
#[derive(Debug, Default)]
pub struct ProducerStats {
    /// Produce requests handed to brokers.
    pub requests: AtomicU64,
    /// Batch retries.
    pub retries: AtomicU64,
    /// KIP-360 epoch bumps.
    pub epoch_bumps: AtomicU64,
}

/// An async Kafka producer. Cheap to clone; all clones share batches and connections.
#[derive(Debug, Clone)]
pub struct Producer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    cluster: Arc<Cluster>,
    acc: Arc<Accumulator>,
    commands: mpsc::UnboundedSender<Command>,
    sender: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    stats: Arc<ProducerStats>,
    ids: ProducerIds,
    txn: Option<Arc<TxnManager>>,
}

impl Producer {
    /// Connects, and with idempotence obtains a producer id (InitProducerId). A transactional
    /// producer (`transactional.id`) gets its id from [`Producer::init_transactions`] instead.
    pub async fn connect(cfg: ProducerConfig) -> Result<Self> {
        let cluster = Cluster::connect(cfg.client.clone()).await?;
        Self::with_cluster(cluster, cfg).await
    }

    /// A producer on an existing cluster core.
    pub async fn with_cluster(cluster: Arc<Cluster>, cfg: ProducerConfig) -> Result<Self> {
        let ids = if cfg.idempotence && cfg.transactional_id.is_none() {
            init_producer_id(&cluster, &cfg).await?
        } else {
            ProducerIds { id: -1, epoch: -1 }
        };
        let cfg = Arc::new(cfg);
        let acc = Arc::new(Accumulator::new(Arc::clone(&cfg)));
        let stats = Arc::new(ProducerStats::default());
        let (tx, rx) = mpsc::unbounded_channel();
        let txn = cfg.transactional_id.as_ref().map(|id| {
            Arc::new(TxnManager::new(
                Arc::clone(&cluster),
                Arc::clone(&cfg),
                id.clone(),
                tx.clone(),
            ))
        });
        let sender = Sender::new(
            Arc::clone(&cluster),
            Arc::clone(&acc),
            ids,
            rx,
            Arc::clone(&stats),
            txn.clone(),
        );
        let task = tokio::spawn(sender.run());
        Ok(Self {
            inner: Arc::new(Inner {
                cluster,
                acc,
                commands: tx,
                sender: std::sync::Mutex::new(Some(task)),
                stats,
                ids,
                txn,
            }),
        })
    }

    /// The producer id and the epoch it started with (-1, -1 without idempotence). For a
    /// transactional producer: the current ones (the epoch moves with fencing, KIP-360 bumps
    /// and, under transaction protocol v2, every ended transaction).
    pub fn producer_id(&self) -> (i64, i16) {
        match &self.inner.txn {
            Some(t) => {
                let ids = t.ids();
                (ids.id, ids.epoch)
            }
            None => (self.inner.ids.id, self.inner.ids.epoch),
        }
    }

    fn txn(&self, operation: &'static str) -> Result<&Arc<TxnManager>> {
        self.inner
            .txn
            .as_ref()
            .ok_or_else(|| TransactionError::NotTransactional { operation }.into())
    }

    /// The transaction state (`None` without `transactional.id`).
    pub fn transaction_state(&self) -> Option<TransactionState> {
        self.inner.txn.as_ref().map(|t| t.state())
    }

    /// Transaction counters (`None` without `transactional.id`).
    pub fn transaction_stats(&self) -> Option<&TransactionStats> {
        self.inner.txn.as_ref().map(|t| &t.stats)
    }

    /// True when the cluster speaks transaction protocol v2 (KIP-890) with this producer; known
    /// after [`Producer::init_transactions`].
    pub fn transaction_v2(&self) -> bool {
        self.inner.txn.as_ref().is_some_and(|t| t.is_v2())
    }

    /// Registers the transactional id with its coordinator and gets the producer id and epoch
    /// (InitProducerId). Any older producer with the same `transactional.id` is fenced: its
    /// open transaction is aborted and its later calls fail. Waits at most `max.block.ms`;
    /// after a timeout it may be called again.
    pub async fn init_transactions(&self) -> Result<()> {
        self.txn("init_transactions")?.init().await
    }

    /// Opens a transaction: every record sent until `commit_transaction` / `abort_transaction`
    /// belongs to it.
    pub async fn begin_transaction(&self) -> Result<()> {
        self.txn("begin_transaction")?.begin().await
    }

    /// Commits consumed offsets as part of the open transaction (consume-transform-produce):
    /// they become the group's committed offsets only if the transaction commits.
    pub async fn send_offsets_to_transaction(
        &self,
        offsets: &[TxnOffset],
        group: &GroupMetadata,
    ) -> Result<()> {
        self.txn("send_offsets_to_transaction")?
            .send_offsets(offsets, group)
            .await
    }

    /// Commits the open transaction: flushes first, so every record's delivery result is known
    /// before EndTxn; if any record failed, the transaction can't commit and this returns an
    /// abortable error (call `abort_transaction`). A lost EndTxn answer is retried with the same
    /// decision; after `max.block.ms` this fails with a timeout and must be called again (no
    /// other transaction call is accepted until it succeeds).
    pub async fn commit_transaction(&self) -> Result<()> {
        let txn = self.txn("commit_transaction")?;
        let _op = txn.op.lock().await;
        txn.begin_commit()?;
        self.flush().await;
        txn.end(true).await
    }

    /// Aborts the open transaction: records still queued fail as not persisted
    /// ([`TransactionError::Aborted`]), records in flight get their results, then EndTxn(abort).
    /// Allowed after an abortable error; the producer can then begin the next transaction.
    pub async fn abort_transaction(&self) -> Result<()> {
        let txn = self.txn("abort_transaction")?;
        let _op = txn.op.lock().await;
        txn.begin_abort()?;
        let _ = self.inner.commands.send(Command::AbortUndrained);
        self.inner.acc.wake.notify_one();
        self.flush().await;
        txn.end(false).await
    }

    /// Counters (requests, retries, epoch bumps).
    pub fn stats(&self) -> &ProducerStats {
        &self.inner.stats
    }

    /// Batch sizes, compression rate, records in flight and buffer use.
    pub fn metrics(&self) -> &Arc<crate::metrics::ProducerMetrics> {
        &self.inner.acc.metrics
    }

    /// The cluster core (metadata, brokers).
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.inner.cluster
    }

    /// Queues a record. Returns once the record is in a batch (after waiting, at most
    /// `max.block.ms`, for metadata or buffer memory); the future resolves to its delivery
    /// result. An `Err` here means the record was refused before it was queued.
    pub async fn send(&self, record: ProducerRecord) -> std::result::Result<DeliveryFuture, ProduceError> {
        self.enqueue(record)
            .await
            .map_err(|e| ProduceError::NotPersisted(Arc::new(e)))
    }

    async fn enqueue(&self, record: ProducerRecord) -> Result<DeliveryFuture> {
        let acc = &self.inner.acc;
        if acc.closing.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        let cfg = &acc.cfg;
        // Hot path: a topic already queued needs no metadata lookup.
        let topic = match acc.existing_topic(&record.topic) {
            Some(t) => t,
            None => {
                let count = match self.inner.cluster.metadata().partition_count(&record.topic) {
                    Some(n) if n > 0 => n,
                    _ => {
                        let md = self
                            .inner
                            .cluster
                            .await_topic(&record.topic, cfg.max_block)
                            .await?;
                        md.partition_count(&record.topic).unwrap_or(0)
                    }
                };
                if count <= 0 {
                    return Err(Error::UnknownTopicOrPartition(record.topic.to_string()));
                }
                acc.topic(&record.topic, count)
            }
        };
        let count = topic.partitions.len() as i32;
        let key = record.key.as_deref();
        let txn = self.inner.txn.as_deref();
        let value = record.value.as_deref();
        let cost = Accumulator::record_cost(key, value, &record.headers);
        if cost > cfg.max_request_size || cost > cfg.buffer_memory {
            return Err(Error::Config(crate::ConfigError::new(
                "max.request.size",
                cfg.max_request_size.to_string(),
                format!("a record of {cost} bytes exceeds max.request.size or buffer.memory"),
            )));
        }
        let partition = match (record.partition, key) {
            (Some(p), _) if (0..count).contains(&p) => p,
            (Some(p), _) => {
                return Err(Error::UnknownTopicOrPartition(format!(
                    "{}-{p} (topic has {count})",
                    record.topic
                )))
            }
            (None, Some(k)) if !cfg.ignore_keys => partitioner::partition_for_key(k, count),
            _ => topic.sticky.load(Ordering::Relaxed).rem_euclid(count),
        };
        // A transactional record: the transaction must be open and (TV1) the partition enlisted.
        let generation = match txn {
            Some(t) => Some(t.before_send(&topic.name, partition).await?),
            None => None,
        };
        acc.reserve(cost).await?;
        let timestamp = record.timestamp.unwrap_or_else(now_ms);
        let rec = RecordRef {
            timestamp,
            key,
            value,
            headers: &record.headers,
        };
        // Shared gate from the last state check to the append: commit / abort can't begin
        // flushing between them, so no record slips past a commit's flush.
        let gate = txn.map(|t| t.gate.read().unwrap_or_else(|e| e.into_inner()));
        if let (Some(t), Some(g)) = (txn, generation) {
            if let Err(e) = t.still_open(g) {
                drop(gate);
                acc.release(cost);
                return Err(e);
            }
        }
        let appended = acc.append(&topic, partition, rec, cost);
        drop(gate);
        if appended.index == 0
            && record.partition.is_none()
            && (key.is_none() || cfg.ignore_keys)
            && count > 1
        {
            // A new batch was opened on the sticky partition: the previous one is full, so the
            // next unkeyed records move on to another partition (KIP-480).
            let next = (partition + 1 + rand::random_range(0..count - 1)) % count;
            let _ = topic
                .sticky
                .compare_exchange(partition, next, Ordering::Relaxed, Ordering::Relaxed);
        }
        Ok(DeliveryFuture {
            completion: appended.completion,
            index: appended.index,
            timestamp,
        })
    }

    /// Sends everything queued now (linger ignored) and waits until every batch has a result.
    pub async fn flush(&self) {
        let acc = &self.inner.acc;
        acc.flushing.fetch_add(1, Ordering::AcqRel);
        acc.wake.notify_one();
        loop {
            let idle = acc.idle.notified();
            if acc.outstanding.load(Ordering::Acquire) == 0 {
                break;
            }
            idle.await;
        }
        acc.flushing.fetch_sub(1, Ordering::AcqRel);
    }

    /// Refuses new records, sends or fails everything queued (each record gets its result), and
    /// stops the sender.
    pub async fn close(&self) {
        self.inner
            .acc
            .closing
            .store(true, std::sync::atomic::Ordering::Release);
        let _ = self.inner.commands.send(Command::Close);
        self.inner.acc.wake.notify_one();
        let task = self.inner.sender.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = task {
            let _ = t.await;
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// InitProducerId for an idempotent producer (no transactional id): any broker answers.
pub(crate) async fn init_producer_id(cluster: &Cluster, cfg: &ProducerConfig) -> Result<ProducerIds> {
    let req = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_transaction_timeout_ms(-1)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let deadline = tokio::time::Instant::now() + cfg.max_block;
    let mut attempt = 0;
    loop {
        let result: Result<ProducerIds> = async {
            let (broker, conn) = cluster.any_connection(Traffic::Admin).await?;
            let resp = conn.send(&req).await?;
            if resp.error_code != 0 {
                return Err(BrokerError {
                    error: ResponseError::try_from_code(resp.error_code)
                        .unwrap_or(ResponseError::Unknown(resp.error_code)),
                    api: "InitProducerId",
                    broker,
                    message: None,
                }
                .into());
            }
            Ok(ProducerIds {
                id: resp.producer_id.0,
                epoch: resp.producer_epoch,
            })
        }
        .await;
        match result {
            Ok(ids) => return Ok(ids),
            Err(e) if e.outcome() != Outcome::Fatal && tokio::time::Instant::now() < deadline => {
                attempt += 1;
                tracing::debug!(error = %e, attempt, "InitProducerId failed; retrying");
                tokio::time::sleep(backoff(
                    cfg.client.retry_backoff,
                    cfg.client.retry_backoff_max,
                    attempt,
                ))
                .await;
            }
            Err(e) => return Err(e),
        }
    }
}
