//! The sender: drains ready batches into Produce requests and settles their answers.
//!
//! ```text
//!            ┌──────────────────────── sender task (owns all sequence state) ─────────────────────┐
//!  accumulator ─ready batch─▶ assign (epoch, sequence), freeze ─▶ per-leader request ─▶ broker sink │
//!            │  ▲ retry queue (same bytes, drain order)                                   (mpsc) │
//!            │  └──── completion: success │ retriable │ OOOSN │ UNKNOWN_PRODUCER_ID │ fatal ◀─┐      │
//!            └──────────────────────────────────────────────────────────────────────────────┼──────┘
//!  broker sink task: connect, build ProduceRequest for the connection's version, write in order │
//!  broker response task: await answers in write order ──────────────────────────────────────────┘
//! ```
//!
//! Rules (docs/invariants.md I1–I7), after the Java client's `Sender` and `TransactionManager`:
//! - one batch per partition per request (I5); at most `max.in.flight` requests per broker;
//! - a partition's batches all go to one broker until its in-flight ones are answered, so a
//!   leader move can't reorder them (librdkafka #4953);
//! - a failed batch goes to the partition's retry queue, ordered by first drain; while it is
//!   non-empty the partition sends only its head, one at a time, once nothing is in flight;
//! - OUT_OF_ORDER_SEQUENCE_NUMBER on the partition's next expected sequence, UNKNOWN_PRODUCER_ID
//!   after the log start moved past our last ack, and any batch that fails or expires with a
//!   sequence assigned leave a gap the broker can't accept: the producer bumps its epoch
//!   locally (KIP-360) once those partitions have nothing in flight, and restamps their queued
//!   retries from sequence 0. Other partitions move to the new epoch when they are idle.
//! - a transactional producer (transaction.rs) never bumps locally: a batch that fails for good
//!   makes the transaction abortable (or the producer fatally failed, when fenced); its queued
//!   batches then fail as aborted, and the epoch moves at the transaction's end (TV2 EndTxn, or
//!   TV1 InitProducerId after the abort, KIP-360). Produce requests carry the transactional id,
//!   and under transaction protocol v1 go out at most at v11 (v12+ makes the broker enlist the
//!   partition itself, KIP-890).

use super::accumulator::Accumulator;
use super::batch::{BatchAck, ProduceError, ProducerBatch};
use super::config::{Acks, ProducerConfig};
use super::transaction::TxnManager;
use super::ProducerStats;
use crate::broker::Traffic;
use crate::cluster::Cluster;
use crate::config::backoff;
use crate::error::{BrokerError, Error, Outcome};
use crate::metrics::ProducerMetrics;
use crate::net::PendingResponse;
use crate::records::{increment_sequence, ProducerState};
use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse, TopicName, TransactionalId};
use kafka_protocol::protocol::StrBytes;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

type Tp = (Arc<str>, i32);

/// The producer's id and epoch (both -1 without idempotence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProducerIds {
    pub id: i64,
    pub epoch: i16,
}

/// Sequence and in-flight state of one partition.
#[derive(Debug)]
struct PartState {
    ids: ProducerIds,
    next_seq: i32,
    last_acked_seq: i32,
    /// A batch of the current (id, epoch) was acknowledged: the broker holds our sequence
    /// state for this partition, so pipelining is safe (see `drain`).
    acked_in_epoch: bool,
    last_acked_offset: i64,
    in_flight: VecDeque<ProducerBatch>,
    retry: VecDeque<ProducerBatch>,
    in_flight_broker: Option<i32>,
}

impl PartState {
    fn new(ids: ProducerIds, first_seq: i32) -> Self {
        Self {
            ids,
            next_seq: first_seq,
            last_acked_seq: -1,
            acked_in_epoch: false,
            last_acked_offset: -1,
            in_flight: VecDeque::new(),
            retry: VecDeque::new(),
            in_flight_broker: None,
        }
    }

    fn take_in_flight(&mut self, drain_order: u64, metrics: &ProducerMetrics) -> Option<ProducerBatch> {
        let i = self.in_flight.iter().position(|b| b.drain_order == drain_order)?;
        let b = self.in_flight.remove(i);
        if let Some(b) = &b {
            metrics.records_in_flight(-i64::from(b.record_count));
        }
        if self.in_flight.is_empty() {
            self.in_flight_broker = None;
        }
        b
    }

    fn push_retry(&mut self, batch: ProducerBatch) {
        let pos = self.retry.partition_point(|b| b.drain_order < batch.drain_order);
        self.retry.insert(pos, batch);
    }
}

/// One partition's batch within a request.
#[derive(Debug)]
struct SinkPart {
    topic: Arc<str>,
    topic_id: uuid::Uuid,
    partition: i32,
    drain_order: u64,
    records: Bytes,
}

#[derive(Debug)]
struct SinkRequest {
    parts: Vec<SinkPart>,
}

/// How a request ended, for the sender.
#[derive(Debug)]
struct Completion {
    broker: i32,
    parts: Vec<(Tp, u64)>,
    result: Result<Option<ProduceResponse>, Error>,
}

#[derive(Debug)]
struct BrokerSink {
    tx: mpsc::UnboundedSender<SinkRequest>,
    in_flight: usize,
}

/// Commands from the producer handle.
#[derive(Debug)]
pub(crate) enum Command {
    /// Stop once every batch has completed.
    Close,
    /// Transactions: the producer id / epoch moved (InitProducerId, or a TV2 EndTxn). Every
    /// partition restarts its sequences at 0 under it once nothing of it is in flight.
    SetIds(ProducerIds),
    /// Transactions: the open transaction is being aborted; fail every batch not in flight.
    AbortUndrained,
}

pub(crate) struct Sender {
    cluster: Arc<Cluster>,
    acc: Arc<Accumulator>,
    cfg: Arc<ProducerConfig>,
    ids: ProducerIds,
    parts: HashMap<Tp, PartState>,
    sinks: HashMap<i32, BrokerSink>,
    completions_tx: mpsc::UnboundedSender<Completion>,
    completions: mpsc::UnboundedReceiver<Completion>,
    commands: mpsc::UnboundedReceiver<Command>,
    bump_for: HashSet<Tp>,
    drain_counter: u64,
    refreshing: Arc<AtomicBool>,
    stats: Arc<ProducerStats>,
    closing: bool,
    /// The transaction manager of a transactional producer.
    txn: Option<Arc<TxnManager>>,
    /// A fresh producer id being fetched after epoch exhaustion (`Some` while in progress; the
    /// slot holds the answer once it arrives).
    fresh_ids: Option<Arc<std::sync::Mutex<Option<crate::error::Result<ProducerIds>>>>>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("ids", &self.ids)
            .finish_non_exhaustive()
    }
}

impl Sender {
    pub fn new(
        cluster: Arc<Cluster>,
        acc: Arc<Accumulator>,
        ids: ProducerIds,
        commands: mpsc::UnboundedReceiver<Command>,
        stats: Arc<ProducerStats>,
        txn: Option<Arc<TxnManager>>,
    ) -> Self {
        let (completions_tx, completions) = mpsc::unbounded_channel();
        Self {
            cfg: Arc::clone(&acc.cfg),
            cluster,
            acc,
            ids,
            parts: HashMap::new(),
            sinks: HashMap::new(),
            completions_tx,
            completions,
            commands,
            bump_for: HashSet::new(),
            drain_counter: 0,
            refreshing: Arc::new(AtomicBool::new(false)),
            stats,
            closing: false,
            txn,
            fresh_ids: None,
        }
    }

    fn on_command(&mut self, cmd: Option<Command>) {
        match cmd {
            Some(Command::Close) | None => self.closing = true,
            Some(Command::SetIds(ids)) => {
                tracing::debug!(
                    producer_id = ids.id,
                    epoch = ids.epoch,
                    "producer id / epoch moved"
                );
                self.ids = ids;
            }
            Some(Command::AbortUndrained) => self.abort_undrained(),
        }
    }

    /// Fails every batch of the aborted transaction that is not in flight: queued in the
    /// accumulator or waiting in a retry queue (Java `RecordAccumulator.abortUndrainedBatches`).
    /// In-flight batches finish normally; EndTxn(abort) waits for them.
    fn abort_undrained(&mut self) {
        let Some(txn) = self.txn.clone() else { return };
        let topics: Vec<_> = self
            .acc
            .topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        let mut aborted = Vec::new();
        for topic in topics {
            for (p, queue) in topic.partitions.iter().enumerate() {
                let mut q = queue.lock().unwrap_or_else(|e| e.into_inner());
                aborted.extend(
                    q.batches
                        .drain(..)
                        .map(|b| ((Arc::clone(&topic.name), p as i32), b)),
                );
            }
        }
        for (tp, ps) in self.parts.iter_mut() {
            aborted.extend(ps.retry.drain(..).map(|b| (tp.clone(), b)));
        }
        let n = aborted.len();
        for (tp, batch) in aborted {
            let err = txn.aborted();
            txn.batch_failed(&err, batch.frozen.is_some());
            tracing::debug!(topic = %tp.0, partition = tp.1, "batch aborted with its transaction");
            batch
                .completion
                .complete(Err(ProduceError::NotPersisted(Arc::new(err))));
            self.acc.finished(&batch);
        }
        if n > 0 {
            tracing::info!(batches = n, "aborted queued batches of the aborted transaction");
        }
    }

    pub async fn run(mut self) {
        loop {
            while let Ok(c) = self.completions.try_recv() {
                self.on_completion(c);
            }
            while let Ok(cmd) = self.commands.try_recv() {
                self.on_command(Some(cmd));
            }
            if self
                .txn
                .as_ref()
                .is_some_and(|t| t.state() == super::TransactionState::AbortableError)
            {
                // The transaction can only be aborted: don't send what is still queued (Java
                // `Sender.maybeAbortBatches`).
                self.abort_undrained();
            }
            if !self.bump_for.is_empty() {
                self.maybe_bump_epoch();
            }
            // Drain until a pass sends nothing: one pass puts at most one batch per partition
            // in a request, so pipelining (up to max.in.flight) takes several passes.
            let now = Instant::now();
            let next = loop {
                let (next, sent) = self.drain(now);
                if !sent {
                    break next;
                }
            };
            if self.closing && self.acc.outstanding.load(Ordering::Acquire) == 0 {
                return;
            }
            let sleep_until = next.unwrap_or(now + Duration::from_secs(1));
            tokio::select! {
                c = self.completions.recv() => {
                    if let Some(c) = c {
                        self.on_completion(c);
                    }
                }
                cmd = self.commands.recv() => self.on_command(cmd),
                _ = self.acc.wake.notified() => {}
                _ = tokio::time::sleep_until(sleep_until) => {}
            }
        }
    }

    fn request_metadata_refresh(&self) {
        if self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let cluster = Arc::clone(&self.cluster);
        let flag = Arc::clone(&self.refreshing);
        let pause = self.cfg.client.retry_backoff;
        tokio::spawn(async move {
            if let Err(e) = cluster.refresh(&[]).await {
                tracing::debug!(error = %e, "producer metadata refresh failed");
            }
            tokio::time::sleep(pause).await;
            flag.store(false, Ordering::Release);
        });
    }

    /// Fails a batch for good; its sequence (if any) leaves a gap, so the partition's epoch
    /// must be bumped before it sends more.
    fn fail(&mut self, tp: &Tp, batch: ProducerBatch, err: Error) {
        let possibly = batch.maybe_persisted || err.outcome() == Outcome::PossiblyPersisted;
        if let Some(txn) = &self.txn {
            // Inside a transaction a failed batch makes the transaction abortable (or the
            // producer fatally failed); a sequence gap is healed by the abort, never by a
            // mid-transaction epoch bump (TV2: EndTxn bumps; TV1: InitProducerId after abort).
            txn.batch_failed(&err, batch.frozen.is_some());
        } else if self.cfg.idempotence && batch.frozen.is_some() {
            self.bump_for.insert(tp.clone());
        }
        let err = Arc::new(err);
        let result = if possibly {
            ProduceError::PossiblyPersisted(err)
        } else {
            ProduceError::NotPersisted(err)
        };
        tracing::debug!(topic = %tp.0, partition = tp.1, error = %result, "batch failed");
        batch.completion.complete(Err(result));
        self.acc.finished(&batch);
    }

    /// Retries a batch after backoff, or fails it when out of retries or time.
    fn retry_or_fail(&mut self, tp: &Tp, mut batch: ProducerBatch, err: Error) {
        if err.outcome() == Outcome::PossiblyPersisted {
            batch.maybe_persisted = true;
        }
        let now = Instant::now();
        if batch.attempts > self.cfg.retries || batch.created + self.cfg.delivery_timeout <= now {
            self.fail(tp, batch, err);
            return;
        }
        self.stats.retries.fetch_add(1, Ordering::Relaxed);
        let wait = backoff(
            self.cfg.client.retry_backoff,
            self.cfg.client.retry_backoff_max,
            batch.attempts.saturating_sub(1),
        );
        batch.retry_at = Some(now + wait);
        tracing::debug!(topic = %tp.0, partition = tp.1, attempt = batch.attempts, error = %err, "retrying batch");
        let ids = self.ids;
        let first_seq = self.cfg.initial_sequence;
        self.parts
            .entry(tp.clone())
            .or_insert_with(|| PartState::new(ids, first_seq))
            .push_retry(batch);
    }

    fn on_completion(&mut self, c: Completion) {
        if let Some(s) = self.sinks.get_mut(&c.broker) {
            s.in_flight = s.in_flight.saturating_sub(1);
        }
        let resp = match c.result {
            Err(e) => {
                self.request_metadata_refresh();
                for (tp, order) in c.parts {
                    let batch = self
                        .parts
                        .get_mut(&tp)
                        .and_then(|ps| ps.take_in_flight(order, &self.acc.metrics));
                    match batch {
                        // Nothing can make it go out (can't encode, no common version).
                        Some(batch) if e.outcome() == Outcome::Fatal => self.fail(&tp, batch, e.clone()),
                        Some(batch) => self.retry_or_fail(&tp, batch, e.clone()),
                        None => {}
                    }
                }
                return;
            }
            Ok(r) => r,
        };
        for (tp, order) in c.parts {
            let Some(mut batch) = self
                .parts
                .get_mut(&tp)
                .and_then(|ps| ps.take_in_flight(order, &self.acc.metrics))
            else {
                continue;
            };
            let Some(resp) = &resp else {
                // acks=0: no answer, no offset.
                self.succeed(&tp, batch, -1, -1);
                continue;
            };
            let part = resp
                .responses
                .iter()
                .filter(|t| {
                    t.name.0.as_str() == &*tp.0
                        || (!t.topic_id.is_nil() && self.topic_id(&tp.0) == Some(t.topic_id))
                })
                .flat_map(|t| t.partition_responses.iter())
                .find(|p| p.index == tp.1);
            let Some(part) = part else {
                // The broker answered the request but not for this partition: it may have
                // written it.
                batch.maybe_persisted = true;
                let e = Error::InvalidResponse {
                    api: "Produce",
                    broker: c.broker,
                    detail: format!("no answer for {}-{}", tp.0, tp.1),
                };
                self.retry_or_fail(&tp, batch, e);
                continue;
            };
            match part.error_code {
                // DUPLICATE_SEQUENCE_NUMBER (46): the broker already has it (older brokers say so
                // instead of returning the original offset). Delivered, offset unknown.
                0 | 46 => self.succeed(&tp, batch, part.base_offset, part.log_append_time_ms),
                code => {
                    let err: Error = BrokerError {
                        error: ResponseError::try_from_code(code).unwrap_or(ResponseError::Unknown(code)),
                        api: "Produce",
                        broker: c.broker,
                        message: part.error_message.as_ref().map(|m| m.to_string()),
                    }
                    .into();
                    self.on_partition_error(&tp, batch, code, part.log_start_offset, err);
                }
            }
        }
    }

    fn topic_id(&self, topic: &str) -> Option<uuid::Uuid> {
        self.cluster.metadata().topics.get(topic).map(|t| t.id)
    }

    fn succeed(&mut self, tp: &Tp, batch: ProducerBatch, base_offset: i64, log_append_time: i64) {
        let mut diverged = false;
        if let (Some(ps), Some(f)) = (self.parts.get_mut(tp), batch.frozen.as_ref()) {
            if f.producer_state().producer_epoch == ps.ids.epoch
                && f.producer_state().producer_id == ps.ids.id
            {
                ps.last_acked_seq = f.last_sequence();
                ps.acked_in_epoch = true;
                // The broker took this batch while an earlier one of ours waits for a retry:
                // it had no sequence state for us (new leader without it, or state lost) and
                // accepted a gap. The earlier batch can never be accepted under this epoch, so
                // restart it under a new one (it lands after this batch: order for it is lost,
                // and we log that loudly).
                diverged = self.cfg.idempotence
                    && self.txn.is_none()
                    && ps.retry.iter().any(|b| {
                        b.drain_order < batch.drain_order
                            && b.frozen
                                .as_ref()
                                .is_some_and(|r| r.producer_state().producer_epoch == ps.ids.epoch)
                    });
            }
            if base_offset >= 0 {
                ps.last_acked_offset = base_offset + i64::from(batch.record_count) - 1;
            }
        }
        if diverged {
            tracing::warn!(
                topic = %tp.0,
                partition = tp.1,
                "broker accepted a batch past a gap in our sequences; bumping the epoch to resend \
                 the earlier batch (it will land after this one)"
            );
            self.bump_for.insert(tp.clone());
        }
        batch.completion.complete(Ok(BatchAck {
            base_offset,
            log_append_time,
        }));
        self.acc.finished(&batch);
    }

    fn on_partition_error(
        &mut self,
        tp: &Tp,
        batch: ProducerBatch,
        code: i16,
        log_start_offset: i64,
        err: Error,
    ) {
        const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
        const UNKNOWN_PRODUCER_ID: i16 = 59;
        const CONCURRENT_TRANSACTIONS: i16 = 51;
        if self.txn.is_some() && code == CONCURRENT_TRANSACTIONS {
            // TV2: the broker enlisting the partition found the previous transaction still
            // completing; the batch was refused before any append, so it is simply retried.
            self.retry_or_fail(tp, batch, err);
            return;
        }
        if self.txn.is_some() && (code == OUT_OF_ORDER_SEQUENCE_NUMBER || code == UNKNOWN_PRODUCER_ID) {
            // Inside a transaction these make the transaction abortable: no mid-transaction
            // InitProducerId or local bump (Java `TransactionManager.handleFailedBatch`; KIP-360
            // lets the transactional producer bump its epoch after the abort instead).
            self.fail(tp, batch, err);
            return;
        }
        if self.cfg.idempotence && code == OUT_OF_ORDER_SEQUENCE_NUMBER {
            // Only the batch right after our last acknowledged one proves a real gap on the
            // broker; a later batch failing this way is collateral of an earlier failure and is
            // simply retried in order (Java TransactionManager.canRetry).
            let head = self.parts.get(tp).is_some_and(|ps| {
                batch.frozen.as_ref().is_some_and(|f| {
                    f.producer_state().producer_epoch == ps.ids.epoch
                        && f.base_sequence() == increment_sequence(ps.last_acked_seq, 1)
                })
            });
            if head && !batch.sequence_reset {
                self.bump_for.insert(tp.clone());
            }
            self.retry_or_fail(tp, batch, err);
            return;
        }
        if self.cfg.idempotence && code == UNKNOWN_PRODUCER_ID {
            // log_start_offset -1: the broker couldn't say (the partition moved): just retry.
            // Otherwise our producer state is gone from the broker (retention deleted our last
            // batch, or it was never there): restart this partition's sequences under a new
            // epoch and retry (KIP-360).
            if log_start_offset >= 0 && !batch.sequence_reset {
                self.bump_for.insert(tp.clone());
            }
            self.retry_or_fail(tp, batch, err);
            return;
        }
        match err.outcome() {
            Outcome::Retriable | Outcome::PossiblyPersisted | Outcome::NeedsEpochBump => {
                self.request_metadata_refresh();
                self.retry_or_fail(tp, batch, err);
            }
            Outcome::Fatal => self.fail(tp, batch, err),
        }
    }

    /// KIP-360 local epoch bump, once the partitions that need it have nothing in flight.
    fn maybe_bump_epoch(&mut self) {
        if !self.cfg.idempotence {
            self.bump_for.clear();
            return;
        }
        let quiet = self
            .bump_for
            .iter()
            .all(|tp| self.parts.get(tp).is_none_or(|ps| ps.in_flight.is_empty()));
        if !quiet {
            return;
        }
        if self.ids.epoch == i16::MAX {
            // Epoch exhausted (32767 bumps): like Java (`bumpIdempotentEpochAndResetIdIfNeeded`),
            // ask InitProducerId for a new producer id; its epoch starts at 0 and every
            // partition moves to it (sequences from 0) once nothing of it is in flight.
            match self
                .fresh_ids
                .as_ref()
                .map(|slot| slot.lock().unwrap_or_else(|e| e.into_inner()).take())
            {
                None => {
                    let slot = Arc::new(std::sync::Mutex::new(None));
                    self.fresh_ids = Some(Arc::clone(&slot));
                    let (cluster, cfg, acc) = (
                        Arc::clone(&self.cluster),
                        Arc::clone(&self.cfg),
                        Arc::clone(&self.acc),
                    );
                    tracing::warn!(
                        producer_id = self.ids.id,
                        "producer epoch exhausted; fetching a new producer id"
                    );
                    tokio::spawn(async move {
                        let r = super::init_producer_id(&cluster, &cfg).await;
                        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
                        acc.wake.notify_one();
                    });
                    return;
                }
                Some(None) => return,
                Some(Some(Err(e))) => {
                    // Try again at the next pass; the batches wait (bounded by delivery.timeout.ms).
                    tracing::warn!(error = %e, "fetching a new producer id failed");
                    self.fresh_ids = None;
                    return;
                }
                Some(Some(Ok(ids))) => {
                    self.fresh_ids = None;
                    self.ids = ids;
                }
            }
        } else {
            self.ids.epoch += 1;
        }
        self.stats.epoch_bumps.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            producer_id = self.ids.id,
            epoch = self.ids.epoch,
            partitions = self.bump_for.len(),
            "bumped producer epoch (KIP-360)"
        );
        let ids = self.ids;
        let first_seq = self.cfg.initial_sequence;
        for tp in std::mem::take(&mut self.bump_for) {
            let ps = self
                .parts
                .entry(tp)
                .or_insert_with(|| PartState::new(ids, first_seq));
            ps.ids = ids;
            ps.next_seq = 0;
            ps.last_acked_seq = -1;
            ps.acked_in_epoch = false;
            let mut seq = 0;
            for b in ps.retry.iter_mut() {
                b.restamp(ProducerState {
                    producer_id: ids.id,
                    producer_epoch: ids.epoch,
                    base_sequence: seq,
                    transactional: self.txn.is_some(),
                });
                seq = increment_sequence(seq, b.record_count);
            }
            ps.next_seq = seq;
        }
    }

    fn sink(&mut self, broker: i32) -> &mut BrokerSink {
        let cluster = &self.cluster;
        let completions = &self.completions_tx;
        let cfg = &self.cfg;
        let txn = &self.txn;
        self.sinks.entry(broker).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(sink_loop(
                Arc::clone(cluster),
                broker,
                rx,
                completions.clone(),
                Arc::clone(cfg),
                txn.clone(),
            ));
            BrokerSink { tx, in_flight: 0 }
        })
    }

    /// Expires, then moves ready batches into requests (at most one per partition). Returns
    /// the next instant something becomes ready (linger, backoff or expiry) and whether any
    /// request was sent.
    fn drain(&mut self, now: Instant) -> (Option<Instant>, bool) {
        let md = self.cluster.metadata();
        let topics: Vec<_> = self
            .acc
            .topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        let mut next: Option<Instant> = None;
        let mut wake_at = |t: Instant| next = Some(next.map_or(t, |n: Instant| n.min(t)));
        let mut requests: HashMap<i32, (Vec<SinkPart>, usize)> = HashMap::new();
        let max_in_flight = self.cfg.max_in_flight;
        let mut need_refresh = false;
        for topic in topics {
            let topic_id = md.topics.get(&*topic.name).map(|t| t.id).unwrap_or_default();
            for (p, queue) in topic.partitions.iter().enumerate() {
                let p = p as i32;
                let tp: Tp = (Arc::clone(&topic.name), p);
                if let Some(at) = self.expire(&tp, queue, now) {
                    wake_at(at);
                }
                let has_work = self.parts.get(&tp).is_some_and(|ps| !ps.retry.is_empty())
                    || !queue.lock().unwrap_or_else(|e| e.into_inner()).batches.is_empty();
                if !has_work {
                    continue;
                }
                let leader = md.partition(&topic.name, p).map(|pi| pi.leader).unwrap_or(-1);
                if leader < 0
                    || md
                        .topics
                        .get(&*topic.name)
                        .is_some_and(|t| t.missing_since.is_some())
                {
                    need_refresh = true;
                    wake_at(now + self.cfg.client.retry_backoff);
                    continue;
                }
                if self.bump_for.contains(&tp) {
                    continue;
                }
                let broker_busy = self
                    .sinks
                    .get(&leader)
                    .is_some_and(|s| s.in_flight >= max_in_flight);
                // Each partition is visited once per pass, so it is in at most one request: one
                // batch per partition per request (invariant I5).
                let req_bytes = requests.get(&leader).map(|(_, bytes)| *bytes).unwrap_or(0);
                if broker_busy || req_bytes >= self.cfg.max_request_size {
                    continue;
                }
                let ids = self.ids;
                let first_seq = self.cfg.initial_sequence;
                let ps = self
                    .parts
                    .entry(tp.clone())
                    .or_insert_with(|| PartState::new(ids, first_seq));
                if ps.in_flight_broker.is_some_and(|b| b != leader) {
                    // Answers from the old leader first, so the new one sees sequences in order.
                    continue;
                }
                let batch = if !ps.retry.is_empty() {
                    let due = ps.retry.front().and_then(|b| b.retry_at).unwrap_or(now);
                    if !ps.in_flight.is_empty() {
                        None
                    } else if due > now {
                        wake_at(due);
                        None
                    } else {
                        ps.retry.pop_front()
                    }
                } else if ps.in_flight.len()
                    < pipeline_limit(self.cfg.idempotence, ps.acked_in_epoch, max_in_flight)
                {
                    if self.cfg.idempotence && ps.ids != self.ids {
                        // This partition still runs on an older epoch; move it to the current one
                        // once nothing of it is in flight (sequences restart at 0).
                        if ps.in_flight.is_empty() {
                            ps.ids = self.ids;
                            ps.next_seq = 0;
                            ps.last_acked_seq = -1;
                            ps.acked_in_epoch = false;
                        }
                    }
                    if ps.ids != self.ids && self.cfg.idempotence {
                        None
                    } else {
                        let (b, at) = self
                            .acc
                            .take_ready(&mut queue.lock().unwrap_or_else(|e| e.into_inner()), now);
                        if let Some(at) = at {
                            wake_at(at);
                        }
                        b
                    }
                } else {
                    None
                };
                let Some(mut batch) = batch else { continue };
                if batch.frozen.is_none() {
                    self.drain_counter += 1;
                    batch.drain_order = self.drain_counter;
                    let ps = self.parts.get_mut(&tp).expect("created above");
                    let seq = ps.next_seq;
                    let state = if self.cfg.idempotence {
                        ProducerState {
                            producer_id: ps.ids.id,
                            producer_epoch: ps.ids.epoch,
                            base_sequence: seq,
                            transactional: self.txn.is_some(),
                        }
                    } else {
                        ProducerState::NONE
                    };
                    if let Err(e) = batch.freeze(state) {
                        self.fail(&tp, batch, e);
                        continue;
                    }
                    if let Some(f) = &batch.frozen {
                        self.acc.metrics.record_batch(
                            f.size_in_bytes(),
                            f.uncompressed_size(),
                            f.record_count(),
                        );
                    }
                    if self.cfg.idempotence {
                        ps.next_seq = increment_sequence(seq, batch.record_count);
                    }
                }
                batch.attempts += 1;
                let records = batch
                    .frozen
                    .as_ref()
                    .map(|f| f.bytes().clone())
                    .unwrap_or_default();
                let entry = requests.entry(leader).or_default();
                entry.1 += records.len();
                entry.0.push(SinkPart {
                    topic: Arc::clone(&tp.0),
                    topic_id,
                    partition: p,
                    drain_order: batch.drain_order,
                    records,
                });
                let ps = self.parts.get_mut(&tp).expect("created above");
                ps.in_flight_broker = Some(leader);
                self.acc.metrics.records_in_flight(i64::from(batch.record_count));
                ps.in_flight.push_back(batch);
            }
        }
        if need_refresh {
            self.request_metadata_refresh();
        }
        let sent = !requests.is_empty();
        for (broker, (parts, _)) in requests {
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let sink = self.sink(broker);
            sink.in_flight += 1;
            if sink.tx.send(SinkRequest { parts }).is_err() {
                tracing::error!(broker, "broker sink stopped");
            }
        }
        (next, sent)
    }

    /// Delivery timeout (`delivery.timeout.ms`): fails batches that waited too long in the
    /// accumulator (never sent: not persisted) or in the retry queue (maybe persisted if an
    /// attempt may have reached the broker). In-flight batches end by `request.timeout.ms`.
    fn expire(
        &mut self,
        tp: &Tp,
        queue: &std::sync::Mutex<super::accumulator::PartitionQueue>,
        now: Instant,
    ) -> Option<Instant> {
        let limit = self.cfg.delivery_timeout;
        let mut expired = Vec::new();
        let mut next: Option<Instant> = None;
        if let Some(ps) = self.parts.get_mut(tp) {
            while ps.retry.front().is_some_and(|b| b.created + limit <= now) {
                if let Some(b) = ps.retry.pop_front() {
                    expired.push(b);
                }
            }
            next = ps.retry.front().map(|b| b.created + limit);
        }
        {
            let mut q = queue.lock().unwrap_or_else(|e| e.into_inner());
            while q.batches.front().is_some_and(|b| b.created + limit <= now) {
                if let Some(b) = q.batches.pop_front() {
                    expired.push(b);
                }
            }
            if let Some(b) = q.batches.front() {
                let at = b.created + limit;
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        for b in expired {
            let e = Error::Timeout {
                what: format!("delivery of a batch to {}-{} (delivery.timeout.ms)", tp.0, tp.1),
                millis: limit.as_millis() as u64,
            };
            self.fail(tp, b, e);
        }
        next
    }
}

/// How many batches of one partition may be in flight. With idempotence, only one until the
/// broker has acknowledged a batch of the current epoch: a broker with no sequence state for
/// our producer id accepts *any* first sequence, so a pipelined second batch could be taken
/// while the first one fails and must be retried, and the first could then never follow it.
fn pipeline_limit(idempotence: bool, acked_in_epoch: bool, max_in_flight: usize) -> usize {
    if idempotence && !acked_in_epoch {
        1
    } else {
        max_in_flight
    }
}

/// Writes one broker's requests in order; hands each answer's wait to the response task.
async fn sink_loop(
    cluster: Arc<Cluster>,
    broker: i32,
    mut rx: mpsc::UnboundedReceiver<SinkRequest>,
    completions: mpsc::UnboundedSender<Completion>,
    cfg: Arc<ProducerConfig>,
    txn: Option<Arc<TxnManager>>,
) {
    type Waiting = (Vec<(Tp, u64)>, PendingResponse<ProduceRequest>);
    let (wait_tx, mut wait_rx) = mpsc::unbounded_channel::<Waiting>();
    let resp_completions = completions.clone();
    tokio::spawn(async move {
        while let Some((parts, pending)) = wait_rx.recv().await {
            let result = pending.wait().await.map(Some).map_err(Error::from);
            if resp_completions
                .send(Completion {
                    broker,
                    parts,
                    result,
                })
                .is_err()
            {
                return;
            }
        }
    });
    while let Some(req) = rx.recv().await {
        let ids: Vec<(Tp, u64)> = req
            .parts
            .iter()
            .map(|p| ((Arc::clone(&p.topic), p.partition), p.drain_order))
            .collect();
        let conn = match cluster.broker(broker) {
            Ok(b) => b.connection(Traffic::Produce).await.map_err(Error::from),
            Err(e) => Err(e),
        };
        let conn = match conn {
            Ok(c) => c,
            Err(e) => {
                let _ = completions.send(Completion {
                    broker,
                    parts: ids,
                    result: Err(e),
                });
                continue;
            }
        };
        let result = async {
            let mut version = conn.version::<ProduceRequest>()?;
            if let Some(cap) = txn.as_ref().and_then(|t| t.produce_version_cap()) {
                version = version.min(cap);
            }
            let request = build_request(&req, version, &cfg);
            if cfg.acks == Acks::None {
                conn.send_no_response(&request, version).await?;
                return Ok(None);
            }
            Ok(Some(conn.begin(&request, version, cfg.request_timeout).await?))
        }
        .await;
        match result {
            Ok(Some(pending)) => {
                let _ = wait_tx.send((ids, pending));
            }
            Ok(None) => {
                let _ = completions.send(Completion {
                    broker,
                    parts: ids,
                    result: Ok(None),
                });
            }
            Err(e) => {
                let _ = completions.send(Completion {
                    broker,
                    parts: ids,
                    result: Err(e),
                });
            }
        }
    }
}

/// One ProduceRequest for the connection's version: topics by id from v13 (KIP-516), by name
/// before.
fn build_request(req: &SinkRequest, version: i16, cfg: &ProducerConfig) -> ProduceRequest {
    let mut topics: Vec<TopicProduceData> = Vec::new();
    for part in &req.parts {
        let pos = topics.iter().position(|t| {
            if version >= 13 {
                t.topic_id == part.topic_id
            } else {
                t.name.0.as_str() == &*part.topic
            }
        });
        let data = PartitionProduceData::default()
            .with_index(part.partition)
            .with_records(Some(part.records.clone()));
        match pos {
            Some(i) => topics[i].partition_data.push(data),
            None => {
                let mut t = TopicProduceData::default().with_partition_data(vec![data]);
                if version >= 13 {
                    t.topic_id = part.topic_id;
                } else {
                    t.name = TopicName(StrBytes::from_string(part.topic.to_string()));
                }
                topics.push(t);
            }
        }
    }
    ProduceRequest::default()
        .with_transactional_id(
            cfg.transactional_id
                .as_ref()
                .map(|t| TransactionalId(StrBytes::from_string(t.clone()))),
        )
        .with_acks(cfg.acks.wire())
        .with_timeout_ms(cfg.request_timeout.as_millis().min(i32::MAX as u128) as i32)
        .with_topic_data(topics)
}
