//! The consumer: assigned partitions, positions, fetching with sessions, pause/resume.
//!
//! ```text
//!  assign(partitions) / seek / pause / resume            caller
//!        │
//!  poll(timeout) ──buffered records? ──yes──▶ up to max.poll.records
//!        │ no
//!        ├─ positions: reset missing ones (auto.offset.reset via ListOffsets)
//!        ├─ group fetchable partitions by leader (metadata)
//!        ├─ one Fetch per broker, all brokers at once, each with its KIP-227 session
//!        └─ answers ──fetcher.rs──▶ records (zero-copy slices of the answer) ─▶ buffers
//!              errors: out of range ─▶ reset │ leader moved ─▶ metadata refresh │ other ─▶ caller
//! ```
//!
//! Positions handed out are exact: `position(tp)` is the offset after the last record `poll`
//! returned (or past skipped transaction markers once the buffer is drained), which is what a
//! caller commits. The group layer (`crate::group`) drives `assign` for subscriptions.

pub mod config;
mod fetch_session;
mod fetcher;
pub mod subscription;

pub use config::{ConsumerConfig, IsolationLevel, OffsetReset};
pub use subscription::{GroupConsumer, Revocation};

use crate::admin::{Admin, OffsetSpec};
use crate::broker::Traffic;
use crate::cluster::Cluster;
use crate::error::{BrokerError, Error, Result};
pub use crate::group::TopicPartition;
use crate::metrics::{ConsumerMetrics, PartitionLag};
use crate::records::{Header, ReadLimits, TimestampType};
use bytes::Bytes;
use fetch_session::{FetchSession, PartitionFetch, Plan};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Errors of the consumer layer.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConsumerError {
    /// The consumer was used in a way its state doesn't allow.
    #[error("invalid consumer state: {0}")]
    InvalidState(String),
    /// `auto.offset.reset=none` and the partition has no valid position.
    #[error("no valid offset for {partition} and auto.offset.reset=none{}", .detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    NoOffsetForPartition {
        /// The partition.
        partition: TopicPartition,
        /// Why (e.g. the fetch offset that was out of range).
        detail: Option<String>,
    },
    /// The fetched data of a partition is malformed (bad CRC, lying lengths, ...).
    #[error("corrupt record data in {partition} at offset {offset}: {detail}")]
    CorruptRecord {
        /// The partition.
        partition: TopicPartition,
        /// The fetch position where the bad data starts.
        offset: i64,
        /// What was wrong.
        detail: String,
    },
}

/// A consumed record. Key, value and header values are slices of the Fetch answer (or of the
/// batch's one decompression buffer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    /// Topic.
    pub topic: Arc<str>,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Timestamp (ms).
    pub timestamp: i64,
    /// How the timestamp was set.
    pub timestamp_type: TimestampType,
    /// Key (`None`: null).
    pub key: Option<Bytes>,
    /// Value (`None`: null, a tombstone).
    pub value: Option<Bytes>,
    /// Headers in wire order.
    pub headers: Vec<Header>,
    /// The leader epoch the record was written under, if known.
    pub leader_epoch: Option<i32>,
}

#[derive(Debug, Default)]
struct PartitionState {
    /// Next offset to fetch (`None`: must be reset).
    fetch_position: Option<i64>,
    /// Offset after the last record handed to the caller.
    consumed: Option<i64>,
    buffer: VecDeque<ConsumerRecord>,
    paused: bool,
    /// The last answer reached the partition's high watermark (or brought nothing): it is
    /// not prefetched while others are buffered, only fetched (and waited for) when the
    /// caller has nothing left, so an idle partition never holds the broker's Fetch slot.
    at_end: bool,
    /// Its high watermark and position for the lag metrics (registered in `Consumer::metrics`).
    lag: Arc<PartitionLag>,
}

/// A consumer of explicitly assigned partitions (see the module docs).
#[derive(Debug)]
pub struct Consumer {
    cluster: Arc<Cluster>,
    cfg: ConsumerConfig,
    partitions: BTreeMap<TopicPartition, PartitionState>,
    sessions: HashMap<i32, FetchSession>,
    topic_names: HashMap<String, Arc<str>>,
    /// Errors to surface on the next `poll` (after records already buffered).
    pending_errors: VecDeque<Error>,
    /// At most one Fetch per broker on its way (see [`InFlight`]).
    in_flight: HashMap<i32, InFlight>,
    fetch_requests: u64,
    incremental_fetches: u64,
    /// Lag per assigned partition.
    metrics: Arc<ConsumerMetrics>,
}

/// A Fetch sent to one broker and not yet applied. Fetches run as their own tasks so the next
/// one is on the wire while the caller works through what the previous one brought: `poll`
/// sends a Fetch for the partitions whose buffers ran dry before returning the records of the
/// others (Java's consumer pipelines the same way), and applies answers as they arrive.
#[derive(Debug)]
struct InFlight {
    plan: Plan,
    /// The fetch offset asked for each partition. An answer's data counts only while the
    /// partition's position is still that offset: a seek, reset or reassignment meanwhile
    /// makes it stale, and it is dropped (the next Fetch asks again).
    offsets: HashMap<TopicPartition, i64>,
    task: tokio::task::JoinHandle<Result<FetchResponse>>,
}

impl Drop for Consumer {
    fn drop(&mut self) {
        for f in self.in_flight.values() {
            f.task.abort();
        }
    }
}

impl Consumer {
    /// Connects (bootstraps metadata).
    pub async fn connect(cfg: ConsumerConfig) -> Result<Self> {
        let cluster = Cluster::connect(cfg.client.clone()).await?;
        Ok(Self::with_cluster(cluster, cfg))
    }

    /// A consumer on an existing cluster core.
    pub fn with_cluster(cluster: Arc<Cluster>, cfg: ConsumerConfig) -> Self {
        Self {
            cluster,
            cfg,
            partitions: BTreeMap::new(),
            sessions: HashMap::new(),
            topic_names: HashMap::new(),
            pending_errors: VecDeque::new(),
            in_flight: HashMap::new(),
            fetch_requests: 0,
            incremental_fetches: 0,
            metrics: Arc::default(),
        }
    }

    /// Lag per assigned partition (`records-lag`, `records-lag-max`).
    pub fn metrics(&self) -> &Arc<ConsumerMetrics> {
        &self.metrics
    }

    /// The shared cluster core.
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }

    /// The configuration.
    pub fn config(&self) -> &ConsumerConfig {
        &self.cfg
    }

    /// Replaces the assignment. Partitions kept keep their positions and buffers; new ones
    /// start without a position (reset by `auto.offset.reset` unless `seek` sets one).
    pub fn assign(&mut self, partitions: impl IntoIterator<Item = TopicPartition>) {
        let wanted: BTreeSet<TopicPartition> = partitions.into_iter().collect();
        self.partitions.retain(|tp, _| wanted.contains(tp));
        self.metrics.retain(|tp| wanted.contains(tp));
        for tp in wanted {
            self.cluster.add_interest(&tp.topic);
            let metrics = &self.metrics;
            self.partitions.entry(tp).or_insert_with_key(|tp| PartitionState {
                lag: metrics.partition(tp),
                ..PartitionState::default()
            });
        }
    }

    /// The assigned partitions.
    pub fn assignment(&self) -> BTreeSet<TopicPartition> {
        self.partitions.keys().cloned().collect()
    }

    fn state(&mut self, tp: &TopicPartition) -> Result<&mut PartitionState> {
        self.partitions
            .get_mut(tp)
            .ok_or_else(|| ConsumerError::InvalidState(format!("{tp} is not assigned")).into())
    }

    /// Consume `tp` from `offset` next (drops what was buffered for it).
    pub fn seek(&mut self, tp: &TopicPartition, offset: i64) -> Result<()> {
        let st = self.state(tp)?;
        st.fetch_position = Some(offset);
        st.consumed = Some(offset);
        st.buffer.clear();
        st.at_end = false;
        Ok(())
    }

    /// Seeks each partition to its log start.
    pub async fn seek_to_beginning(&mut self, tps: &[TopicPartition]) -> Result<()> {
        self.seek_to(tps, OffsetSpec::Earliest).await
    }

    /// Seeks each partition to its end (the last stable offset under read_committed).
    pub async fn seek_to_end(&mut self, tps: &[TopicPartition]) -> Result<()> {
        self.seek_to(tps, OffsetSpec::Latest).await
    }

    async fn seek_to(&mut self, tps: &[TopicPartition], spec: OffsetSpec) -> Result<()> {
        for (tp, offset) in self.list_offsets(tps, spec).await? {
            self.seek(&tp, offset)?;
        }
        Ok(())
    }

    async fn list_offsets(
        &self,
        tps: &[TopicPartition],
        spec: OffsetSpec,
    ) -> Result<Vec<(TopicPartition, i64)>> {
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for tp in tps {
            by_topic.entry(&tp.topic).or_default().push(tp.partition);
        }
        let admin = Admin::new(Arc::clone(&self.cluster));
        let mut out = Vec::new();
        for (topic, parts) in by_topic {
            let listed = admin
                .list_offsets_isolated(topic, &parts, spec, self.cfg.isolation.wire())
                .await?;
            for p in parts {
                let o = listed
                    .get(&p)
                    .ok_or_else(|| Error::UnknownTopicOrPartition(format!("{topic}-{p}")))?;
                out.push((TopicPartition::new(topic, p), o.offset));
            }
        }
        Ok(out)
    }

    /// The offset after the last record `poll` returned for `tp` (what to commit), or `None`
    /// before the first position is known.
    pub fn position(&self, tp: &TopicPartition) -> Option<i64> {
        let st = self.partitions.get(tp)?;
        if st.buffer.is_empty() {
            st.fetch_position.or(st.consumed)
        } else {
            st.consumed
        }
    }

    /// Every known position (see [`Self::position`]).
    pub fn positions(&self) -> BTreeMap<TopicPartition, i64> {
        self.partitions
            .keys()
            .filter_map(|tp| Some((tp.clone(), self.position(tp)?)))
            .collect()
    }

    /// Stops returning and fetching records of these partitions until resumed.
    pub fn pause(&mut self, tps: &[TopicPartition]) -> Result<()> {
        for tp in tps {
            self.state(tp)?.paused = true;
        }
        Ok(())
    }

    /// Resumes paused partitions.
    pub fn resume(&mut self, tps: &[TopicPartition]) -> Result<()> {
        for tp in tps {
            self.state(tp)?.paused = false;
        }
        Ok(())
    }

    /// The paused partitions.
    pub fn paused(&self) -> BTreeSet<TopicPartition> {
        self.partitions
            .iter()
            .filter(|(_, s)| s.paused)
            .map(|(tp, _)| tp.clone())
            .collect()
    }

    /// Fetch requests sent, and how many of them were incremental (KIP-227).
    pub fn fetch_stats(&self) -> (u64, u64) {
        (self.fetch_requests, self.incremental_fetches)
    }

    /// Up to `max.poll.records` records, waiting at most `timeout` for some. An error for one
    /// partition (out of range with `auto.offset.reset=none`, corrupt data) is returned once
    /// the records buffered before it have been handed out.
    pub async fn poll(&mut self, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
        let out = self.poll_records(timeout).await;
        self.publish_positions();
        out
    }

    /// Every partition's position as its lag metric's lower end (one store each, per poll).
    fn publish_positions(&self) {
        for (tp, st) in &self.partitions {
            if let Some(p) = self.position(tp) {
                st.lag.set_position(p);
            }
        }
    }

    async fn poll_records(&mut self, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
        let deadline = Instant::now() + timeout;
        loop {
            // Answers that arrived meanwhile, without waiting.
            self.collect_fetches(None).await;
            let out = self.drain_buffers();
            if !out.is_empty() {
                // Partitions that ran dry are fetched while the caller handles these; the broker
                // answers at once (no wait), so the next blocking fetch never queues behind it.
                self.send_fetches(Duration::ZERO, true).await;
                return Ok(out);
            }
            if let Some(e) = self.pending_errors.pop_front() {
                return Err(e);
            }
            self.reset_missing_positions().await?;
            let now = Instant::now();
            if now >= deadline && timeout > Duration::ZERO {
                return Ok(Vec::new());
            }
            let wait = (deadline - now).min(self.cfg.fetch_max_wait);
            self.send_fetches(wait, false).await;
            if self.in_flight.is_empty() {
                tokio::time::sleep(wait.min(self.cfg.client.retry_backoff.max(Duration::from_millis(10))))
                    .await;
                if Instant::now() >= deadline {
                    return Ok(Vec::new());
                }
                continue;
            }
            let fetched = self.collect_fetches(Some(deadline)).await;
            if !fetched && Instant::now() >= deadline {
                return Ok(Vec::new());
            }
        }
    }

    fn drain_buffers(&mut self) -> Vec<ConsumerRecord> {
        let buffered: usize = self
            .partitions
            .values()
            .filter(|s| !s.paused)
            .map(|s| s.buffer.len())
            .sum();
        let mut out = Vec::with_capacity(buffered.min(self.cfg.max_poll_records));
        for st in self.partitions.values_mut().filter(|s| !s.paused) {
            // Whole runs of a partition's buffer at once; its position moves once per run.
            let take = st.buffer.len().min(self.cfg.max_poll_records - out.len());
            out.extend(st.buffer.drain(..take));
            if let Some(last) = out.last().filter(|_| take > 0) {
                st.consumed = Some(last.offset + 1);
            }
            if out.len() >= self.cfg.max_poll_records {
                break;
            }
        }
        out
    }

    async fn reset_missing_positions(&mut self) -> Result<()> {
        let missing: Vec<TopicPartition> = self
            .partitions
            .iter()
            .filter(|(_, s)| s.fetch_position.is_none())
            .map(|(tp, _)| tp.clone())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let spec = match self.cfg.auto_offset_reset {
            OffsetReset::Earliest => OffsetSpec::Earliest,
            OffsetReset::Latest => OffsetSpec::Latest,
            OffsetReset::None => {
                return Err(ConsumerError::NoOffsetForPartition {
                    partition: missing[0].clone(),
                    detail: None,
                }
                .into())
            }
        };
        for (tp, offset) in self.list_offsets(&missing, spec).await? {
            tracing::debug!(partition = %tp, offset, "reset position ({:?})", self.cfg.auto_offset_reset);
            self.seek(&tp, offset)?;
        }
        Ok(())
    }

    /// Sends a Fetch to every leader without one on its way, for its partitions that have a
    /// position, aren't paused, have nothing buffered and aren't in another Fetch. `prefetch`
    /// (records are still buffered): partitions at their end are left out, and a broker with
    /// nothing to fetch gets no request, rather than one that only forgets partitions and then
    /// holds the broker's slot for the wait.
    async fn send_fetches(&mut self, wait: Duration, prefetch: bool) {
        let md = self.cluster.metadata();
        let busy: BTreeSet<&TopicPartition> =
            self.in_flight.values().flat_map(|f| f.offsets.keys()).collect();
        let mut by_leader: BTreeMap<i32, BTreeMap<TopicPartition, PartitionFetch>> = BTreeMap::new();
        let mut need_metadata = false;
        for (tp, st) in &self.partitions {
            let (Some(offset), false, true) = (st.fetch_position, st.paused, st.buffer.is_empty()) else {
                continue;
            };
            if busy.contains(tp) || (prefetch && st.at_end) {
                continue;
            }
            let topic = md.topics.get(&tp.topic);
            match (topic, md.partition(&tp.topic, tp.partition)) {
                (Some(t), Some(p)) if p.leader >= 0 => {
                    if self.in_flight.contains_key(&p.leader) {
                        continue;
                    }
                    by_leader.entry(p.leader).or_default().insert(
                        tp.clone(),
                        PartitionFetch {
                            topic_id: t.id,
                            fetch_offset: offset,
                            leader_epoch: p.leader_epoch,
                            max_bytes: self.cfg.max_partition_fetch_bytes,
                        },
                    );
                }
                _ => need_metadata = true,
            }
        }
        // Brokers with a session but nothing to fetch now: let them forget our partitions.
        if !prefetch {
            for (&broker, session) in &self.sessions {
                if session.id() != 0 && !self.in_flight.contains_key(&broker) {
                    by_leader.entry(broker).or_default();
                }
            }
        }
        if need_metadata {
            let topics: BTreeSet<&str> = self.partitions.keys().map(|tp| tp.topic.as_str()).collect();
            let topics: Vec<&str> = topics.into_iter().collect();
            if let Err(e) = self.cluster.refresh(&topics).await {
                tracing::debug!(error = %e, "metadata refresh for the consumer failed");
            }
        }
        for (broker, wanted) in by_leader {
            let session = self.sessions.entry(broker).or_default();
            let offsets = wanted
                .iter()
                .map(|(tp, f)| (tp.clone(), f.fetch_offset))
                .collect();
            let plan = session.plan(wanted);
            if !plan.full && plan.send.is_empty() && plan.forget.is_empty() && self.partitions.is_empty() {
                continue;
            }
            let req = self.request(&plan, wait);
            let cluster = Arc::clone(&self.cluster);
            let task = tokio::spawn(async move {
                let conn = cluster.broker(broker)?.connection(Traffic::Fetch).await?;
                let timeout = cluster.config().request_timeout + wait;
                let version = conn.version::<FetchRequest>()?;
                Ok::<FetchResponse, Error>(conn.send_at_with_timeout(&req, version, timeout).await?)
            });
            self.in_flight.insert(broker, InFlight { plan, offsets, task });
        }
    }

    /// Applies the answers of finished Fetches: with `wait_until`, first waits (at most until
    /// then) for one to finish. Returns whether any partition got records.
    async fn collect_fetches(&mut self, wait_until: Option<Instant>) -> bool {
        if self.in_flight.is_empty() {
            return false;
        }
        // A task awaited to completion here must not be awaited again: keep its answer.
        let mut first = None;
        if let Some(deadline) = wait_until {
            let any = futures_util::future::select_all(
                self.in_flight
                    .iter_mut()
                    .map(|(&broker, f)| Box::pin(async move { (broker, (&mut f.task).await) })),
            );
            if let Ok(((broker, answer), _, _)) = tokio::time::timeout_at(deadline, any).await {
                first = Some((broker, answer));
            }
        }
        let done: Vec<i32> = self
            .in_flight
            .iter()
            .filter(|(&b, f)| f.task.is_finished() && first.as_ref().is_none_or(|(fb, _)| *fb != b))
            .map(|(&b, _)| b)
            .collect();
        let mut answers = Vec::with_capacity(done.len() + 1);
        answers.extend(first);
        for broker in done {
            if let Some(f) = self.in_flight.get_mut(&broker) {
                answers.push((broker, (&mut f.task).await));
            }
        }
        let mut got_records = false;
        for (broker, answer) in answers {
            let Some(f) = self.in_flight.remove(&broker) else {
                continue;
            };
            self.fetch_requests += 1;
            if !f.plan.full {
                self.incremental_fetches += 1;
            }
            let answer = match answer {
                Ok(answer) => answer,
                Err(e) => Err(Error::InvalidResponse {
                    api: "Fetch",
                    broker,
                    detail: format!("the fetch task ended without an answer: {e}"),
                }),
            };
            match answer {
                Ok(resp) => got_records |= self.handle_response(broker, f.plan, &f.offsets, resp).await,
                Err(e) => {
                    tracing::debug!(broker, error = %e, "fetch failed");
                    if let Some(s) = self.sessions.get_mut(&broker) {
                        s.reset();
                    }
                    let _ = self.cluster.refresh(&[]).await;
                }
            }
        }
        got_records
    }

    fn request(&self, plan: &Plan, wait: Duration) -> FetchRequest {
        let mut topics: BTreeMap<&str, FetchTopic> = BTreeMap::new();
        for (tp, f) in &plan.send {
            let t = topics.entry(&tp.topic).or_insert_with(|| {
                FetchTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(tp.topic.clone())))
                    .with_topic_id(f.topic_id)
            });
            t.partitions.push(
                FetchPartition::default()
                    .with_partition(tp.partition)
                    .with_current_leader_epoch(f.leader_epoch)
                    .with_fetch_offset(f.fetch_offset)
                    .with_log_start_offset(-1)
                    .with_partition_max_bytes(f.max_bytes),
            );
        }
        let mut forgotten: BTreeMap<&str, ForgottenTopic> = BTreeMap::new();
        for (tp, id) in &plan.forget {
            forgotten
                .entry(&tp.topic)
                .or_insert_with(|| {
                    ForgottenTopic::default()
                        .with_topic(TopicName(StrBytes::from_string(tp.topic.clone())))
                        .with_topic_id(*id)
                })
                .partitions
                .push(tp.partition);
        }
        FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(wait.as_millis().min(i32::MAX as u128) as i32)
            .with_min_bytes(self.cfg.fetch_min_bytes)
            .with_max_bytes(self.cfg.fetch_max_bytes)
            .with_isolation_level(self.cfg.isolation.wire())
            .with_session_id(plan.session_id)
            .with_session_epoch(plan.epoch)
            .with_topics(topics.into_values().collect())
            .with_forgotten_topics_data(forgotten.into_values().collect())
            .with_rack_id(StrBytes::from_string(self.cfg.client_rack.clone()))
    }

    async fn handle_response(
        &mut self,
        broker: i32,
        plan: Plan,
        asked: &HashMap<TopicPartition, i64>,
        resp: FetchResponse,
    ) -> bool {
        self.sessions
            .entry(broker)
            .or_default()
            .on_response(plan, resp.error_code, resp.session_id);
        if resp.error_code != 0 {
            tracing::debug!(
                broker,
                error = resp.error_code,
                "fetch answered with a top-level error"
            );
            return false;
        }
        let md = self.cluster.metadata();
        let ids: HashMap<uuid::Uuid, &str> = md
            .topics
            .values()
            .filter(|t| !t.id.is_nil())
            .map(|t| (t.id, t.name.as_str()))
            .collect();
        let limits = ReadLimits::default().check_crcs(self.cfg.check_crcs);
        let read_committed = self.cfg.isolation == IsolationLevel::ReadCommitted;
        let mut got_records = false;
        let mut refresh = false;
        for topic in resp.responses {
            let name: String = if topic.topic.0.is_empty() {
                match ids.get(&topic.topic_id) {
                    Some(n) => n.to_string(),
                    None => {
                        refresh = true;
                        continue;
                    }
                }
            } else {
                topic.topic.0.to_string()
            };
            let topic_arc = Arc::clone(
                self.topic_names
                    .entry(name.clone())
                    .or_insert_with(|| Arc::from(name.as_str())),
            );
            for p in topic.partitions {
                let tp = TopicPartition::new(name.clone(), p.partition_index);
                let Some(st) = self.partitions.get_mut(&tp) else {
                    continue;
                };
                let Some(position) = st.fetch_position else {
                    continue;
                };
                if asked.get(&tp) != Some(&position) {
                    // Sought, reset or reassigned while the Fetch was out: stale.
                    continue;
                }
                match p.error_code {
                    0 => {
                        // read_committed reads up to the last stable offset (Java's lag too).
                        let end = if read_committed && p.last_stable_offset >= 0 {
                            p.last_stable_offset
                        } else {
                            p.high_watermark
                        };
                        st.lag.set_high_watermark(end);
                    }
                    // OFFSET_OUT_OF_RANGE: the position is gone (retention) or not there yet.
                    1 => {
                        match self.cfg.auto_offset_reset {
                            OffsetReset::None => {
                                self.pending_errors.push_back(
                                    ConsumerError::NoOffsetForPartition {
                                        partition: tp.clone(),
                                        detail: Some(format!("fetch offset {position} is out of range")),
                                    }
                                    .into(),
                                );
                            }
                            _ => {
                                tracing::info!(partition = %tp, position, "fetch offset out of range; resetting");
                                st.fetch_position = None;
                            }
                        }
                        continue;
                    }
                    // Leadership moved or metadata is stale: refresh and fetch again.
                    3 | 6 | 56 | 74 | 75 | 78 | 100 => {
                        refresh = true;
                        continue;
                    }
                    code => {
                        self.pending_errors.push_back(
                            BrokerError {
                                error: ResponseError::try_from_code(code)
                                    .unwrap_or(ResponseError::Unknown(code)),
                                api: "Fetch",
                                broker,
                                message: Some(format!("partition {tp}")),
                            }
                            .into(),
                        );
                        continue;
                    }
                }
                let Some(records) = p.records.filter(|r| !r.is_empty()) else {
                    st.at_end = true;
                    continue;
                };
                let aborted = p
                    .aborted_transactions
                    .unwrap_or_default()
                    .iter()
                    .map(|a| fetcher::Aborted {
                        producer_id: a.producer_id.0,
                        first_offset: a.first_offset,
                    })
                    .collect();
                let decoded = fetcher::decode(
                    &topic_arc,
                    tp.partition,
                    records,
                    position,
                    read_committed,
                    aborted,
                    limits,
                );
                if let Some(e) = decoded.error {
                    self.pending_errors.push_back(
                        ConsumerError::CorruptRecord {
                            partition: tp.clone(),
                            offset: decoded.records.last().map_or(position, |r| r.offset + 1),
                            detail: e.to_string(),
                        }
                        .into(),
                    );
                }
                got_records |= !decoded.records.is_empty();
                if st.buffer.is_empty() {
                    // The decoded Vec becomes the buffer as is (no per-record move).
                    st.buffer = decoded.records.into();
                } else {
                    st.buffer.extend(decoded.records);
                }
                st.fetch_position = Some(decoded.next_offset);
                st.at_end = decoded.next_offset >= p.high_watermark;
            }
        }
        if refresh {
            let topics: BTreeSet<&str> = self.partitions.keys().map(|tp| tp.topic.as_str()).collect();
            let topics: Vec<&str> = topics.into_iter().collect();
            let _ = self.cluster.refresh(&topics).await;
        }
        got_records
    }

    /// Closes fetch sessions (best effort) and drops the assignment.
    pub async fn close(&mut self) {
        for (_, f) in self.in_flight.drain() {
            f.task.abort();
        }
        self.partitions.clear();
        self.metrics.retain(|_| false);
        self.sessions.clear();
    }
}

#[cfg(test)]
mod tests;
