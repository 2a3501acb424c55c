//! The client's own metrics: request rate and latency per Kafka API, producer batching and
//! buffer use, consumer lag; and a [`Registry`] an application (the Connect runtime) snapshots.
//!
//! ```text
//!  net::Connection ──write: record_sent(api, bytes)──────────▶ NetworkMetrics   (one per Cluster:
//!       └─ reader: answer matched ─ record_response(api, t) ─▶   per-API count + latency histogram)
//!  producer sender ──freeze: batch bytes, uncompressed bytes ─▶ ProducerMetrics (one per Producer;
//!       └─ batch sent / answered: records in flight ±n          buffer.memory read from its pool)
//!  consumer ──Fetch answer: high watermark; poll: position ───▶ ConsumerMetrics (one per Consumer:
//!                                                                 one PartitionLag per partition)
//!  application: Registry::register(labels, source) ─▶ Registration (unregisters on drop)
//!               Registry::snapshot() ─▶ [ClientSnapshot] ─▶ e.g. Prometheus text
//! ```
//!
//! No global state: each client owns its metrics (an `Arc` shared with whoever registers it),
//! and each application owns its registry, so tests running side by side in one process never
//! see each other's numbers, and a client that is dropped and unregistered disappears.
//!
//! The hot paths only touch atomics (relaxed): a request costs two counter adds when written
//! and a bucket, sum, count and max update when its answer arrives; no lock (the connection's
//! pending map, already locked per request, carries the send instant) and no allocation.
//! Snapshots are taken without stopping writers, so a histogram's count is derived from its
//! buckets (Prometheus requires `+Inf` == count).
//!
//! Names follow the Java client where it has them (the runtime maps them to Prometheus):
//! `request-total` / `request-latency` per API (the Java client keeps these per node; ours are
//! per API, as the broker's `RequestMetrics` are), `outgoing-byte-total`, `incoming-byte-total`,
//! `batch-size-avg` / `batch-size-max`, `compression-rate-avg` (compressed / uncompressed bytes
//! of every batch sent, byte-weighted), `record-send-total`, `buffer-total-bytes`,
//! `buffer-available-bytes`, `records-in-flight` (records in Produce requests not yet answered),
//! `records-lag` per partition and `records-lag-max`. Averages and maxima cover the client's
//! whole life (the Java client's 30 s windows are left to the scraper's `rate()`); lags are
//! current values.

use crate::group::TopicPartition;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// Upper bounds (inclusive, microseconds) of the request latency buckets: 250 µs to 10 s.
pub const LATENCY_BUCKETS_MICROS: &[u64] = &[
    250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
    5_000_000, 10_000_000,
];

/// A histogram with fixed bucket bounds: recording is a binary search and four relaxed atomic
/// operations.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [u64],
    /// One counter per bound, plus the overflow bucket (`+Inf`).
    buckets: Box<[AtomicU64]>,
    sum: AtomicU64,
    max: AtomicU64,
}

impl Histogram {
    /// An empty histogram over `bounds` (ascending).
    pub fn new(bounds: &'static [u64]) -> Self {
        debug_assert!(bounds.windows(2).all(|w| w[0] < w[1]), "bounds must ascend");
        Self {
            bounds,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
            max: AtomicU64::new(0),
        }
    }

    /// Counts one observation of `v`.
    pub fn record(&self, v: u64) {
        let i = self.bounds.partition_point(|&b| b < v);
        self.buckets[i].fetch_add(1, Relaxed);
        self.sum.fetch_add(v, Relaxed);
        self.max.fetch_max(v, Relaxed);
    }

    /// The current counts.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Relaxed)).collect();
        HistogramSnapshot {
            bounds: self.bounds,
            count: counts.iter().sum(),
            counts,
            sum: self.sum.load(Relaxed),
            max: self.max.load(Relaxed),
        }
    }
}

/// A histogram's counts at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistogramSnapshot {
    /// The bucket bounds.
    pub bounds: &'static [u64],
    /// Observations per bucket (not cumulative); one more than `bounds` (the last is `+Inf`).
    pub counts: Vec<u64>,
    /// Observations in all (the sum of `counts`).
    pub count: u64,
    /// The sum of the observed values.
    pub sum: u64,
    /// The largest value observed (0 before any).
    pub max: u64,
}

impl HistogramSnapshot {
    /// `(bound, observations ≤ bound)` for every bound, then `(None, count)` for `+Inf`:
    /// Prometheus' cumulative `le` buckets.
    pub fn cumulative(&self) -> impl Iterator<Item = (Option<u64>, u64)> + '_ {
        let bounds = self.bounds.iter().map(|b| Some(*b)).chain([None]);
        bounds.zip(self.counts.iter().scan(0u64, |acc, c| {
            *acc += c;
            Some(*acc)
        }))
    }

    /// The mean observation (0 before any).
    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }
}

/// API keys we keep a slot for (Kafka's are below 100).
const API_SLOTS: usize = 128;

#[derive(Debug)]
struct ApiMetrics {
    requests: AtomicU64,
    latency: Histogram,
}

/// Requests of one client core (its connections): per Kafka API, the requests written and the
/// latency from write to answer; bytes in and out.
#[derive(Debug)]
pub struct NetworkMetrics {
    apis: Box<[ApiMetrics]>,
    outgoing_bytes: AtomicU64,
    incoming_bytes: AtomicU64,
}

impl Default for NetworkMetrics {
    fn default() -> Self {
        Self {
            apis: (0..API_SLOTS)
                .map(|_| ApiMetrics {
                    requests: AtomicU64::new(0),
                    latency: Histogram::new(LATENCY_BUCKETS_MICROS),
                })
                .collect(),
            outgoing_bytes: AtomicU64::new(0),
            incoming_bytes: AtomicU64::new(0),
        }
    }
}

impl NetworkMetrics {
    fn api(&self, key: i16) -> Option<&ApiMetrics> {
        usize::try_from(key).ok().and_then(|k| self.apis.get(k))
    }

    /// A request of API `key` was written (`bytes` on the wire, size prefix included).
    pub fn record_sent(&self, key: i16, bytes: usize) {
        self.outgoing_bytes.fetch_add(bytes as u64, Relaxed);
        if let Some(a) = self.api(key) {
            a.requests.fetch_add(1, Relaxed);
        }
    }

    /// The answer to a request of API `key` arrived, `latency` after it was written.
    pub fn record_response(&self, key: i16, bytes: usize, latency: Duration) {
        self.incoming_bytes.fetch_add(bytes as u64, Relaxed);
        if let Some(a) = self.api(key) {
            a.latency
                .record(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
        }
    }

    /// The APIs used so far, with their counts.
    pub fn snapshot(&self) -> NetworkSnapshot {
        let apis = self
            .apis
            .iter()
            .enumerate()
            .filter_map(|(key, a)| {
                let requests = a.requests.load(Relaxed);
                (requests > 0).then(|| ApiSnapshot {
                    api: api_name(key as i16),
                    requests,
                    latency_micros: a.latency.snapshot(),
                })
            })
            .collect();
        NetworkSnapshot {
            apis,
            outgoing_bytes: self.outgoing_bytes.load(Relaxed),
            incoming_bytes: self.incoming_bytes.load(Relaxed),
        }
    }
}

/// Kafka's name of API `key` (`Produce`, `Fetch`, ...), or the number.
fn api_name(key: i16) -> String {
    match kafka_protocol::messages::ApiKey::try_from(key) {
        Ok(k) => format!("{k:?}"),
        Err(_) => key.to_string(),
    }
}

/// A client core's requests at one moment.
#[derive(Debug, Clone)]
pub struct NetworkSnapshot {
    /// One entry per API with at least one request, by API key.
    pub apis: Vec<ApiSnapshot>,
    /// Bytes written (`outgoing-byte-total`).
    pub outgoing_bytes: u64,
    /// Bytes of answers read (`incoming-byte-total`).
    pub incoming_bytes: u64,
}

/// One API's requests.
#[derive(Debug, Clone)]
pub struct ApiSnapshot {
    /// Kafka's name of the API.
    pub api: String,
    /// Requests written (`request-total`).
    pub requests: u64,
    /// Write-to-answer latency of the answered ones, in microseconds.
    pub latency_micros: HistogramSnapshot,
}

/// One producer's batching, compression and buffer use.
#[derive(Debug)]
pub struct ProducerMetrics {
    batches: AtomicU64,
    batch_bytes: AtomicU64,
    batch_max: AtomicU64,
    uncompressed_bytes: AtomicU64,
    records_sent: AtomicU64,
    records_in_flight: AtomicI64,
    buffer_total: u64,
    /// The accumulator's `buffer.memory` pool: its free permits are the available bytes.
    buffer: Arc<tokio::sync::Semaphore>,
}

impl ProducerMetrics {
    /// Metrics of a producer whose `buffer.memory` pool is `buffer` (`total` bytes).
    pub fn new(total: usize, buffer: Arc<tokio::sync::Semaphore>) -> Self {
        Self {
            batches: AtomicU64::new(0),
            batch_bytes: AtomicU64::new(0),
            batch_max: AtomicU64::new(0),
            uncompressed_bytes: AtomicU64::new(0),
            records_sent: AtomicU64::new(0),
            records_in_flight: AtomicI64::new(0),
            buffer_total: total as u64,
            buffer,
        }
    }

    /// A batch was encoded for sending (once per batch, retries don't count again): its size
    /// on the wire, its records' size before compression, its record count.
    pub fn record_batch(&self, bytes: usize, uncompressed: usize, records: i32) {
        self.batches.fetch_add(1, Relaxed);
        self.batch_bytes.fetch_add(bytes as u64, Relaxed);
        self.batch_max.fetch_max(bytes as u64, Relaxed);
        self.uncompressed_bytes.fetch_add(uncompressed as u64, Relaxed);
        self.records_sent
            .fetch_add(u64::try_from(records).unwrap_or(0), Relaxed);
    }

    /// `records` went out in a Produce request (positive) or its answer came (negative).
    pub fn records_in_flight(&self, delta: i64) {
        self.records_in_flight.fetch_add(delta, Relaxed);
    }

    /// The current values.
    pub fn snapshot(&self) -> ProducerSnapshot {
        let batches = self.batches.load(Relaxed);
        let bytes = self.batch_bytes.load(Relaxed);
        let uncompressed = self.uncompressed_bytes.load(Relaxed);
        ProducerSnapshot {
            batches,
            batch_size_avg: if batches == 0 {
                0.0
            } else {
                bytes as f64 / batches as f64
            },
            batch_size_max: self.batch_max.load(Relaxed),
            compression_rate_avg: if uncompressed == 0 {
                1.0
            } else {
                bytes as f64 / uncompressed as f64
            },
            records_sent: self.records_sent.load(Relaxed),
            records_in_flight: self.records_in_flight.load(Relaxed).max(0) as u64,
            buffer_total_bytes: self.buffer_total,
            buffer_available_bytes: (self.buffer.available_permits() as u64).min(self.buffer_total),
        }
    }
}

/// A producer's values at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct ProducerSnapshot {
    /// Batches sent (`batch-total`, first attempts only).
    pub batches: u64,
    /// Mean batch size in bytes as sent (`batch-size-avg`).
    pub batch_size_avg: f64,
    /// Largest batch in bytes (`batch-size-max`).
    pub batch_size_max: u64,
    /// Batch bytes as sent over their bytes before compression (`compression-rate-avg`; 1.0
    /// without compression, or before any batch; above 1 when compression can't win back the
    /// batch header).
    pub compression_rate_avg: f64,
    /// Records sent (`record-send-total`).
    pub records_sent: u64,
    /// Records in Produce requests not yet answered.
    pub records_in_flight: u64,
    /// `buffer.memory` (`buffer-total-bytes`).
    pub buffer_total_bytes: u64,
    /// The part of it not held by queued or in-flight records (`buffer-available-bytes`).
    pub buffer_available_bytes: u64,
}

/// One partition's high watermark and position, as the consumer last saw them.
#[derive(Debug)]
pub struct PartitionLag {
    high_watermark: AtomicI64,
    position: AtomicI64,
}

impl Default for PartitionLag {
    fn default() -> Self {
        Self {
            high_watermark: AtomicI64::new(-1),
            position: AtomicI64::new(-1),
        }
    }
}

impl PartitionLag {
    /// The high watermark (or last stable offset, read_committed) of the latest Fetch answer.
    pub fn set_high_watermark(&self, offset: i64) {
        self.high_watermark.store(offset, Relaxed);
    }

    /// The consumer's position (the offset after the last record handed out).
    pub fn set_position(&self, offset: i64) {
        self.position.store(offset, Relaxed);
    }

    /// High watermark minus position, once both are known.
    pub fn lag(&self) -> Option<i64> {
        let (hw, pos) = (self.high_watermark.load(Relaxed), self.position.load(Relaxed));
        (hw >= 0 && pos >= 0).then(|| (hw - pos).max(0))
    }
}

/// One consumer's lag per assigned partition.
#[derive(Debug, Default)]
pub struct ConsumerMetrics {
    /// Locked on assignment changes and snapshots only; the consumer keeps its own `Arc` per
    /// partition for the updates.
    partitions: Mutex<BTreeMap<TopicPartition, Arc<PartitionLag>>>,
}

impl ConsumerMetrics {
    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<TopicPartition, Arc<PartitionLag>>> {
        self.partitions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The lag cell of `tp`, created when first assigned.
    pub fn partition(&self, tp: &TopicPartition) -> Arc<PartitionLag> {
        Arc::clone(self.map().entry(tp.clone()).or_default())
    }

    /// Forgets every partition not in `keep` (they were unassigned).
    pub fn retain(&self, keep: impl Fn(&TopicPartition) -> bool) {
        self.map().retain(|tp, _| keep(tp));
    }

    /// Every assigned partition's lag (`None` while its position or high watermark is unknown).
    pub fn snapshot(&self) -> ConsumerSnapshot {
        let partitions: Vec<(TopicPartition, Option<i64>)> =
            self.map().iter().map(|(tp, l)| (tp.clone(), l.lag())).collect();
        ConsumerSnapshot {
            records_lag_max: partitions.iter().filter_map(|(_, l)| *l).max(),
            partitions,
        }
    }
}

/// A consumer's lags at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerSnapshot {
    /// `records-lag` per assigned partition.
    pub partitions: Vec<(TopicPartition, Option<i64>)>,
    /// The largest known lag (`records-lag-max`), `None` while none is known.
    pub records_lag_max: Option<i64>,
}

/// What a registered client exposes.
#[derive(Debug, Clone)]
pub enum Source {
    /// A client core's connections.
    Network(Arc<NetworkMetrics>),
    /// A producer.
    Producer(Arc<ProducerMetrics>),
    /// A consumer.
    Consumer(Arc<ConsumerMetrics>),
}

/// A registered source's values at one moment.
#[derive(Debug, Clone)]
pub enum Snapshot {
    /// See [`NetworkMetrics::snapshot`].
    Network(NetworkSnapshot),
    /// See [`ProducerMetrics::snapshot`].
    Producer(ProducerSnapshot),
    /// See [`ConsumerMetrics::snapshot`].
    Consumer(ConsumerSnapshot),
}

/// Labels that tell registered clients apart (e.g. `client_id`, `connector`, `task`).
pub type Labels = Vec<(&'static str, String)>;

/// One registered client at one moment.
#[derive(Debug, Clone)]
pub struct ClientSnapshot {
    /// The labels it was registered with.
    pub labels: Labels,
    /// Its values.
    pub metrics: Snapshot,
}

/// The live clients of an application. Registering returns a [`Registration`] whose drop
/// unregisters, so the owner of a client (a task) keeps it for exactly the client's life.
#[derive(Debug, Default)]
pub struct Registry {
    entries: Mutex<BTreeMap<u64, (Labels, Source)>>,
    next: AtomicU64,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Adds a client's metrics under `labels` until the returned registration is dropped.
    pub fn register(self: &Arc<Self>, labels: Labels, source: Source) -> Registration {
        let id = self.next.fetch_add(1, Relaxed);
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, (labels, source));
        Registration {
            registry: Arc::downgrade(self),
            id,
        }
    }

    /// Every live client's values, in registration order.
    pub fn snapshot(&self) -> Vec<ClientSnapshot> {
        let entries: Vec<(Labels, Source)> = self
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        entries
            .into_iter()
            .map(|(labels, source)| ClientSnapshot {
                labels,
                metrics: match source {
                    Source::Network(m) => Snapshot::Network(m.snapshot()),
                    Source::Producer(m) => Snapshot::Producer(m.snapshot()),
                    Source::Consumer(m) => Snapshot::Consumer(m.snapshot()),
                },
            })
            .collect()
    }

    /// How many clients are registered.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True when no client is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A client's place in a [`Registry`]; dropping it unregisters the client.
#[derive(Debug)]
pub struct Registration {
    registry: Weak<Registry>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(r) = self.registry.upgrade() {
            r.entries
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_inclusive_upper_bounds_and_cumulate() {
        static BOUNDS: &[u64] = &[10, 100, 1000];
        let h = Histogram::new(BOUNDS);
        for v in [0, 10, 11, 100, 5000, 7] {
            h.record(v);
        }
        let s = h.snapshot();
        assert_eq!(s.counts, vec![3, 2, 0, 1]);
        assert_eq!((s.count, s.sum, s.max), (6, 5128, 5000));
        let cum: Vec<_> = s.cumulative().collect();
        assert_eq!(
            cum,
            vec![(Some(10), 3), (Some(100), 5), (Some(1000), 5), (None, 6)]
        );
        assert!((s.avg() - 5128.0 / 6.0).abs() < 1e-9);
    }

    #[test]
    fn empty_histogram_has_zero_average() {
        let s = Histogram::new(LATENCY_BUCKETS_MICROS).snapshot();
        assert_eq!((s.count, s.avg()), (0, 0.0));
        assert_eq!(s.counts.len(), LATENCY_BUCKETS_MICROS.len() + 1);
    }

    #[test]
    fn network_metrics_count_per_api_and_skip_unused_ones() {
        let m = NetworkMetrics::default();
        m.record_sent(0, 100);
        m.record_sent(0, 50);
        m.record_sent(3, 20);
        m.record_response(0, 30, Duration::from_millis(2));
        // Keys outside the table are ignored, not a panic.
        m.record_sent(-1, 1);
        m.record_sent(i16::MAX, 1);
        m.record_response(i16::MAX, 1, Duration::from_secs(1));
        let s = m.snapshot();
        let names: Vec<_> = s.apis.iter().map(|a| (a.api.as_str(), a.requests)).collect();
        assert_eq!(names, vec![("Produce", 2), ("Metadata", 1)]);
        assert_eq!(s.apis[0].latency_micros.count, 1);
        assert_eq!(s.apis[0].latency_micros.max, 2_000);
        assert_eq!(s.apis[1].latency_micros.count, 0);
        assert_eq!((s.outgoing_bytes, s.incoming_bytes), (172, 31));
    }

    #[test]
    fn producer_metrics_average_and_compression_rate() {
        let pool = Arc::new(tokio::sync::Semaphore::new(1000));
        let m = ProducerMetrics::new(1000, Arc::clone(&pool));
        assert_eq!(m.snapshot().compression_rate_avg, 1.0);
        m.record_batch(100, 400, 10);
        m.record_batch(300, 400, 20);
        m.records_in_flight(30);
        m.records_in_flight(-10);
        pool.try_acquire_many(250).expect("permits").forget();
        let s = m.snapshot();
        assert_eq!(s.batches, 2);
        assert_eq!(s.batch_size_avg, 200.0);
        assert_eq!(s.batch_size_max, 300);
        assert_eq!(s.compression_rate_avg, 0.5);
        assert_eq!(s.records_sent, 30);
        assert_eq!(s.records_in_flight, 20);
        assert_eq!((s.buffer_total_bytes, s.buffer_available_bytes), (1000, 750));
    }

    #[test]
    fn consumer_lag_needs_both_ends_and_max_covers_known_ones() {
        let m = ConsumerMetrics::default();
        let a = m.partition(&TopicPartition::new("t", 0));
        let b = m.partition(&TopicPartition::new("t", 1));
        let _c = m.partition(&TopicPartition::new("u", 0));
        a.set_high_watermark(100);
        assert_eq!(a.lag(), None);
        a.set_position(40);
        b.set_high_watermark(10);
        b.set_position(10);
        let s = m.snapshot();
        assert_eq!(s.records_lag_max, Some(60));
        assert_eq!(s.partitions[0], (TopicPartition::new("t", 0), Some(60)));
        assert_eq!(s.partitions[1].1, Some(0));
        assert_eq!(s.partitions[2].1, None);
        m.retain(|tp| tp.topic == "t" && tp.partition == 1);
        assert_eq!(m.snapshot().records_lag_max, Some(0));
        // The same partition hands back the same cell.
        assert!(Arc::ptr_eq(&b, &m.partition(&TopicPartition::new("t", 1))));
    }

    #[test]
    fn registration_lives_as_long_as_its_guard() {
        let r = Registry::new();
        let net = Arc::new(NetworkMetrics::default());
        net.record_sent(1, 10);
        let g1 = r.register(vec![("client_id", "a".into())], Source::Network(Arc::clone(&net)));
        let g2 = r.register(vec![("client_id", "b".into())], Source::Consumer(Arc::default()));
        let s = r.snapshot();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].labels, vec![("client_id", "a".to_string())]);
        assert!(matches!(&s[0].metrics, Snapshot::Network(n) if n.apis[0].api == "Fetch"));
        drop(g1);
        let s = r.snapshot();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].labels[0].1, "b");
        drop(r);
        // Outliving the registry is fine.
        drop(g2);
    }
}
