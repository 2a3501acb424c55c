//! A producer batch: open while records are appended, frozen once drained for sending.
//!
//! Freezing encodes and compresses the records once and stamps the producer id, epoch and base
//! sequence; every retry resends those exact bytes (invariant I2). Only a KIP-360 epoch bump
//! rewrites the header (id/epoch/sequence, then the CRC), never the records.
//!
//! Every record of a batch shares one [`BatchCompletion`]; a record's [`DeliveryFuture`] is that
//! completion plus the record's index, so delivery results cost one allocation per batch, not
//! one per record.

use crate::error::Error;
use crate::records::{BatchBuilder, FrozenBatch, ProducerState};
use std::sync::{Arc, OnceLock};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Why a record was not delivered, and whether it may be in the log anyway.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ProduceError {
    /// The record is not in the log: it was never sent, or the broker refused it.
    #[error("record not persisted: {0}")]
    NotPersisted(Arc<Error>),
    /// The record was sent and the outcome is unknown: it may be in the log (invariant I7).
    #[error("record possibly persisted: {0}")]
    PossiblyPersisted(Arc<Error>),
}

impl ProduceError {
    /// The underlying cause.
    pub fn cause(&self) -> &Error {
        match self {
            ProduceError::NotPersisted(e) | ProduceError::PossiblyPersisted(e) => e,
        }
    }

    /// True when the record may be in the log.
    pub fn possibly_persisted(&self) -> bool {
        matches!(self, ProduceError::PossiblyPersisted(_))
    }
}

/// Where a delivered record landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    /// Topic.
    pub topic: Arc<str>,
    /// Partition.
    pub partition: i32,
    /// Offset (-1 with acks=0, or when the broker reported a duplicate without its offset).
    pub offset: i64,
    /// The record's timestamp (the broker's append time for LogAppendTime topics).
    pub timestamp: i64,
}

/// The broker's answer for a whole batch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchAck {
    pub base_offset: i64,
    pub log_append_time: i64,
}

/// The shared result of every record in one batch.
#[derive(Debug)]
pub(crate) struct BatchCompletion {
    pub topic: Arc<str>,
    pub partition: i32,
    result: OnceLock<Result<BatchAck, ProduceError>>,
    notify: Notify,
}

impl BatchCompletion {
    pub fn new(topic: Arc<str>, partition: i32) -> Arc<Self> {
        Arc::new(Self {
            topic,
            partition,
            result: OnceLock::new(),
            notify: Notify::new(),
        })
    }

    /// Sets the result once; later calls are ignored (a batch completes exactly once, I1).
    pub fn complete(&self, result: Result<BatchAck, ProduceError>) -> bool {
        let first = self.result.set(result).is_ok();
        if first {
            self.notify.notify_waiters();
        }
        first
    }
}

/// Resolves to a record's delivery result. Dropping it does not cancel delivery.
#[derive(Debug)]
pub struct DeliveryFuture {
    pub(crate) completion: Arc<BatchCompletion>,
    pub(crate) index: i32,
    pub(crate) timestamp: i64,
}

impl DeliveryFuture {
    /// The result if the batch has completed.
    pub fn try_result(&self) -> Option<Result<RecordMetadata, ProduceError>> {
        self.completion.result.get().map(|r| self.resolve(r))
    }

    fn resolve(&self, r: &Result<BatchAck, ProduceError>) -> Result<RecordMetadata, ProduceError> {
        match r {
            Ok(ack) => Ok(RecordMetadata {
                topic: Arc::clone(&self.completion.topic),
                partition: self.completion.partition,
                offset: if ack.base_offset >= 0 {
                    ack.base_offset + i64::from(self.index)
                } else {
                    -1
                },
                timestamp: if ack.log_append_time >= 0 {
                    ack.log_append_time
                } else {
                    self.timestamp
                },
            }),
            Err(e) => Err(e.clone()),
        }
    }

    /// Waits for the result.
    pub async fn wait(self) -> Result<RecordMetadata, ProduceError> {
        loop {
            let notified = self.completion.notify.notified();
            if let Some(r) = self.try_result() {
                return r;
            }
            notified.await;
        }
    }
}

/// One batch of one partition.
#[derive(Debug)]
pub(crate) struct ProducerBatch {
    pub builder: Option<BatchBuilder>,
    pub frozen: Option<FrozenBatch>,
    pub completion: Arc<BatchCompletion>,
    pub created: Instant,
    pub record_count: i32,
    /// Bytes charged against `buffer.memory`, released when the batch completes.
    pub memory: usize,
    /// No more appends (the next record didn't fit).
    pub closed: bool,
    /// Send attempts so far.
    pub attempts: u32,
    /// An earlier attempt may have reached the broker (lost connection, timeout).
    pub maybe_persisted: bool,
    /// Not before this instant (retry backoff).
    pub retry_at: Option<Instant>,
    /// Order of first drain within the partition; retries keep this order.
    pub drain_order: u64,
    /// The header was rewritten by an epoch bump (KIP-360).
    pub sequence_reset: bool,
}

impl ProducerBatch {
    pub fn new(topic: Arc<str>, partition: i32, builder: BatchBuilder) -> Self {
        Self {
            completion: BatchCompletion::new(topic, partition),
            builder: Some(builder),
            frozen: None,
            created: Instant::now(),
            record_count: 0,
            memory: 0,
            closed: false,
            attempts: 0,
            maybe_persisted: false,
            retry_at: None,
            drain_order: 0,
            sequence_reset: false,
        }
    }

    /// Encodes and stamps the batch (first drain only).
    pub fn freeze(&mut self, producer: ProducerState) -> Result<(), Error> {
        if let Some(b) = self.builder.take() {
            let frozen = b.freeze(producer).map_err(|e| Error::InvalidResponse {
                api: "Produce",
                broker: -1,
                detail: format!("cannot encode batch: {e}"),
            })?;
            self.frozen = Some(frozen);
        }
        Ok(())
    }

    /// Rewrites producer id / epoch / base sequence after an epoch bump.
    pub fn restamp(&mut self, state: ProducerState) {
        if let Some(f) = &self.frozen {
            self.frozen = Some(f.with_producer_state(state));
            self.sequence_reset = true;
        }
    }
}
