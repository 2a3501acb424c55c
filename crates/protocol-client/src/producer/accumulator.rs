//! Per-partition queues of batches not yet sent, bounded by `buffer.memory`.
//!
//! ```text
//!  send(record) ─▶ memory permits (wait ≤ max.block.ms) ─▶ lock partition queue
//!                     ─▶ append varints into the open batch (one copy of key/value/headers)
//!                     ─▶ full? close it, open the next, wake the sender
//!  sender ─▶ take_ready(partition): the front batch once closed, lingered, or flushing
//! ```
//! The caller's task does the encoding, so appends run in parallel with the sender's network
//! work; the only shared point per record is the partition's mutex.

use super::batch::ProducerBatch;
use super::config::ProducerConfig;
use crate::metrics::ProducerMetrics;
use crate::records::{encoded_record_size, BatchBuilder, Header};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;

/// Batches of one partition that have not been sent.
#[derive(Debug, Default)]
pub(crate) struct PartitionQueue {
    pub batches: VecDeque<ProducerBatch>,
}

/// The queues of one topic.
#[derive(Debug)]
pub(crate) struct TopicQueues {
    pub name: Arc<str>,
    pub partitions: Vec<Mutex<PartitionQueue>>,
    /// The sticky partition for records without a key (KIP-480): kept until its batch fills.
    pub sticky: AtomicI32,
}

/// All unsent batches.
#[derive(Debug)]
pub(crate) struct Accumulator {
    pub cfg: Arc<ProducerConfig>,
    pub topics: RwLock<HashMap<Arc<str>, Arc<TopicQueues>>>,
    memory: Arc<Semaphore>,
    /// Wakes the sender: a batch closed, a first record arrived, a flush or close began.
    pub wake: Notify,
    /// Batches created and not yet completed (flush waits for zero).
    pub outstanding: AtomicUsize,
    pub idle: Notify,
    /// Everything is ready now, linger or not.
    pub flushing: AtomicUsize,
    pub closing: AtomicBool,
    /// Batch sizes, compression, records in flight, and `buffer.memory` use (read from `memory`).
    pub metrics: Arc<ProducerMetrics>,
}

/// A record's fields as the caller holds them (borrowed: they are copied once, into the batch).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordRef<'a> {
    pub timestamp: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: &'a [Header],
}

/// Result of an append.
pub(crate) struct Appended {
    pub completion: Arc<super::batch::BatchCompletion>,
    pub index: i32,
}

impl Accumulator {
    pub fn new(cfg: Arc<ProducerConfig>) -> Self {
        let permits = cfg.buffer_memory.min(Semaphore::MAX_PERMITS);
        let memory = Arc::new(Semaphore::new(permits));
        Self {
            cfg,
            topics: RwLock::default(),
            metrics: Arc::new(ProducerMetrics::new(permits, Arc::clone(&memory))),
            memory,
            wake: Notify::new(),
            outstanding: AtomicUsize::new(0),
            idle: Notify::new(),
            flushing: AtomicUsize::new(0),
            closing: AtomicBool::new(false),
        }
    }

    /// The queues of `topic` if it has any.
    pub fn existing_topic(&self, topic: &str) -> Option<Arc<TopicQueues>> {
        self.topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(topic)
            .cloned()
    }

    /// The queues of `topic`, created with `partitions` partitions on first use.
    pub fn topic(&self, topic: &str, partitions: i32) -> Arc<TopicQueues> {
        if let Some(t) = self.topics.read().unwrap_or_else(|e| e.into_inner()).get(topic) {
            return Arc::clone(t);
        }
        let mut map = self.topics.write().unwrap_or_else(|e| e.into_inner());
        let name: Arc<str> = Arc::from(topic);
        let t = map.entry(Arc::clone(&name)).or_insert_with(|| {
            Arc::new(TopicQueues {
                name,
                partitions: (0..partitions.max(1)).map(|_| Mutex::default()).collect(),
                sticky: AtomicI32::new(rand::random_range(0..partitions.max(1))),
            })
        });
        Arc::clone(t)
    }

    /// Bytes a record charges against `buffer.memory` (its encoded size, a close upper bound).
    pub fn record_cost(key: Option<&[u8]>, value: Option<&[u8]>, headers: &[Header]) -> usize {
        // Deltas are unknown before the append; use their largest varint sizes.
        encoded_record_size(
            i64::MAX,
            i32::MAX,
            key.map(<[u8]>::len),
            value.map(<[u8]>::len),
            headers,
        )
    }

    /// Takes `cost` bytes of `buffer.memory`, waiting at most `max.block.ms` (invariant I8).
    pub async fn reserve(&self, cost: usize) -> Result<(), crate::Error> {
        let n = u32::try_from(cost.min(self.cfg.buffer_memory)).unwrap_or(u32::MAX);
        if let Ok(p) = self.memory.try_acquire_many(n) {
            p.forget();
            return Ok(());
        }
        match tokio::time::timeout(self.cfg.max_block, self.memory.acquire_many(n)).await {
            Ok(Ok(p)) => {
                p.forget();
                Ok(())
            }
            Ok(Err(_)) => Err(crate::Error::Closed),
            Err(_) => Err(crate::Error::Timeout {
                what: format!("{cost} bytes of buffer.memory ({} total)", self.cfg.buffer_memory),
                millis: self.cfg.max_block.as_millis() as u64,
            }),
        }
    }

    /// Returns memory to the pool.
    pub fn release(&self, cost: usize) {
        let n = cost.min(self.cfg.buffer_memory);
        if n > 0 {
            self.memory.add_permits(n);
        }
    }

    /// Appends a record to `partition`'s open batch (opening one if needed). `cost` bytes were
    /// reserved by the caller and are now owned by the batch.
    pub fn append(&self, topic: &TopicQueues, partition: i32, rec: RecordRef<'_>, cost: usize) -> Appended {
        let RecordRef {
            timestamp,
            key,
            value,
            headers,
        } = rec;
        let mut q = topic.partitions[partition as usize]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut wake = false;
        if let Some(b) = q.batches.back_mut().filter(|b| !b.closed) {
            if let Some(builder) = b.builder.as_mut() {
                if builder.try_append(timestamp, key, value, headers) {
                    b.record_count += 1;
                    b.memory += cost;
                    return Appended {
                        completion: Arc::clone(&b.completion),
                        index: b.record_count - 1,
                    };
                }
            }
            b.closed = true;
            wake = true;
        }
        let builder = BatchBuilder::new(
            self.cfg.compression,
            self.cfg.compression_level,
            self.cfg.batch_size,
        );
        let mut batch = ProducerBatch::new(Arc::clone(&topic.name), partition, builder);
        let appended = batch
            .builder
            .as_mut()
            .is_some_and(|b| b.try_append(timestamp, key, value, headers));
        debug_assert!(appended, "an empty batch takes any encodable record");
        batch.record_count = 1;
        batch.memory = cost;
        let completion = Arc::clone(&batch.completion);
        let first_batch = q.batches.is_empty();
        q.batches.push_back(batch);
        self.outstanding.fetch_add(1, Ordering::AcqRel);
        drop(q);
        // A partition's first batch starts a linger timer the sender must learn about.
        if wake || first_batch || self.cfg.linger.is_zero() {
            self.wake.notify_one();
        }
        Appended { completion, index: 0 }
    }

    /// The front batch of a partition if it may be sent now, plus the earliest instant the
    /// partition will have one (for the sender's timer).
    pub fn take_ready(
        &self,
        q: &mut PartitionQueue,
        now: Instant,
    ) -> (Option<ProducerBatch>, Option<Instant>) {
        let Some(front) = q.batches.front() else {
            return (None, None);
        };
        let linger_done = front.created + self.cfg.linger;
        let ready = front.closed
            || q.batches.len() > 1
            || linger_done <= now
            || self.flushing.load(Ordering::Acquire) > 0
            || self.closing.load(Ordering::Acquire);
        if ready {
            (q.batches.pop_front(), None)
        } else {
            (None, Some(linger_done))
        }
    }

    /// A batch completed (delivered or failed): release its memory.
    pub fn finished(&self, batch: &ProducerBatch) {
        self.release(batch.memory);
        if self.outstanding.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify_waiters();
        }
    }
}
