//! An in-process fake Kafka cluster for fault tests a real broker can't produce on demand: lost
//! responses after the write, OUT_OF_ORDER_SEQUENCE_NUMBER on chosen batches, producer state
//! forgotten after retention, silent brokers, leader moves with requests in flight, a topic
//! missing from metadata for a while, garbage bytes. Dev only (`publish = false`).
//!
//! It is **not** a substitute for a real broker. It is faithful where a client relies on it —
//! framing, ApiVersions (KIP-511 included), Metadata, Produce with the broker's idempotence
//! rules, InitProducerId, CreateTopics, ListOffsets, FindCoordinator and a simple Fetch — and
//! each handler's module documents where it deviates from Apache Kafka 4.
//!
//! ```text
//!   test code                         FakeCluster (Arc<Shared>)
//!   ─────────                         ─────────────────────────
//!   create_topic / set_leader ──────▶ State (one Mutex): topics → partitions → log + producer state
//!   control(key, fn) ───────────────▶ controls (newest first)                ▲
//!                                                                            │ handlers/api_NN_*.rs
//!   client ──TCP──▶ node n listener ──▶ conn.rs, one task per connection:    │
//!                   (127.0.0.1:port)    read frame → decode header + body ───┤
//!                                       → count (seq) → consult controls     │
//!                                       → Pass/Delay/HandleThen*: handler ───┘
//!                                       → Respond/Drop/Silence/Garbage: the fault
//!                                       → write response (in request order)
//!   batches / log_end_offset / request_count / connections_* ◀── read back for assertions
//! ```
//!
//! ```no_run
//! # async fn demo() {
//! use kafka_protocol::messages::ApiKey;
//! use kaflow_fake_broker::{Action, FakeCluster};
//!
//! let cluster = FakeCluster::start(3).await;
//! cluster.create_topic("events", 6);
//! // The 2nd produce request is appended but its response is lost.
//! let lost = cluster.control(ApiKey::Produce, |req| {
//!     if req.seq == 1 { Action::HandleThenDrop } else { Action::Pass }
//! });
//! // ... run the client against cluster.bootstrap() ...
//! assert_eq!(lost.hits(), 1);
//! # }
//! ```

use std::sync::Arc;

use kafka_protocol::messages::ApiKey;

mod batch;
mod cluster;
mod conn;
mod control;
mod handlers;

pub use batch::{BatchError, BatchHeader};
pub use cluster::{StoredBatch, TxnSummary};
pub use conn::ConnError;
pub use control::{produce_error_response, Action, ControlHandle, ControlRequest, RespondFn, RewriteFn};

use cluster::{lock, Shared};

/// A fake Kafka cluster of `n` nodes (broker ids 1..=n), each listening on its own
/// `127.0.0.1` port. Cheap to clone; the nodes stop when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct FakeCluster {
    shared: Arc<Shared>,
    _owner: Arc<Owner>,
}

/// Stops every node when the last `FakeCluster` clone goes away (the tasks themselves hold
/// `Arc<Shared>`, so `Shared` can't do it in its own `Drop`).
#[derive(Debug)]
struct Owner(Arc<Shared>);

impl Drop for Owner {
    fn drop(&mut self) {
        self.0.stop_all();
    }
}

impl FakeCluster {
    /// Starts `nodes` nodes, each listening on `127.0.0.1:0`. Must run inside a tokio runtime.
    ///
    /// # Panics
    /// If `nodes` is 0 or a port can't be bound.
    pub async fn start(nodes: usize) -> Self {
        assert!(nodes > 0, "a fake cluster needs at least one node");
        let shared = Shared::start(nodes).await;
        Self {
            _owner: Arc::new(Owner(Arc::clone(&shared))),
            shared,
        }
    }

    /// `"127.0.0.1:p1,127.0.0.1:p2,..."`, every node in id order.
    pub fn bootstrap(&self) -> String {
        self.shared
            .nodes
            .iter()
            .map(|n| n.addr.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `"127.0.0.1:port"` of one node.
    ///
    /// # Panics
    /// If there is no such node.
    pub fn node_addr(&self, node: i32) -> String {
        self.node(node).addr.to_string()
    }

    /// Node ids, `1..=n`.
    pub fn node_ids(&self) -> Vec<i32> {
        self.shared.node_ids()
    }

    /// Creates a topic; partition leaders round-robin over the nodes, leader epochs 0.
    ///
    /// # Panics
    /// If the topic exists, `partitions < 1`, or the name is not a valid Kafka topic name.
    pub fn create_topic(&self, name: &str, partitions: i32) {
        assert!(partitions > 0, "partitions must be ≥ 1");
        assert!(
            handlers::api_03_metadata::valid_name(name),
            "invalid topic name {name:?}"
        );
        let nodes = self.shared.node_ids();
        let mut state = lock(&self.shared.state);
        assert!(!state.topics.contains_key(name), "topic {name} already exists");
        let leaders = state.round_robin(&nodes, partitions);
        state.add_topic(name, leaders);
    }

    /// Moves a partition's leadership to `node` and bumps its leader epoch. The old leader then
    /// answers NOT_LEADER_OR_FOLLOWER for it. Producer state moves with the log (as it is
    /// replicated in Kafka).
    ///
    /// # Panics
    /// If the topic, partition or node does not exist.
    pub fn set_leader(&self, topic: &str, partition: i32, node: i32) {
        self.node(node);
        self.with_partition(topic, partition, |p| {
            p.leader = node;
            p.leader_epoch += 1;
        });
    }

    /// The current leader and leader epoch of a partition.
    ///
    /// # Panics
    /// If the topic or partition does not exist.
    pub fn leader(&self, topic: &str, partition: i32) -> (i32, i32) {
        self.with_partition(topic, partition, |p| (p.leader, p.leader_epoch))
    }

    /// Hides a topic (or shows it again): Metadata omits it from "all topics" and answers
    /// UNKNOWN_TOPIC_OR_PARTITION when it is named; Produce, Fetch and ListOffsets answer
    /// UNKNOWN_TOPIC_OR_PARTITION. Its data and producer state are kept.
    ///
    /// # Panics
    /// If the topic does not exist.
    pub fn hide_topic(&self, topic: &str, hidden: bool) {
        let mut state = lock(&self.shared.state);
        let t = state
            .topics
            .get_mut(topic)
            .unwrap_or_else(|| panic!("no topic {topic}"));
        t.hidden = hidden;
    }

    /// Deletes every record of a partition by retention: log start offset := log end offset,
    /// and the producer state for the partition is forgotten, as Kafka does once retention has
    /// removed a producer's last batch. A later idempotent batch from such a producer is
    /// accepted at any sequence (see the Produce handler's docs).
    ///
    /// # Panics
    /// If the topic or partition does not exist.
    pub fn apply_retention(&self, topic: &str, partition: i32) {
        self.with_partition(topic, partition, |p| {
            p.log_start_offset = p.log_end_offset;
            p.batches.clear();
            p.producers.clear();
        });
    }

    /// Whether Metadata requests may create unknown topics (one partition) when the client
    /// allows it. Off by default, unlike Kafka's `auto.create.topics.enable`.
    pub fn set_auto_create_topics(&self, enabled: bool) {
        lock(&self.shared.state).auto_create_topics = enabled;
    }

    /// Installs a control for one API key. It is consulted for every request of that key
    /// (newest control first; the first answer other than [`Action::Pass`] wins) until the
    /// returned handle is dropped or removed. The function runs on the connection's task with no
    /// cluster lock held, so it may call back into the cluster (e.g. `set_leader`).
    pub fn control<F>(&self, api_key: ApiKey, f: F) -> ControlHandle
    where
        F: FnMut(&ControlRequest) -> Action + Send + 'static,
    {
        let (id, hits) = Shared::add_control(&self.shared, api_key, Box::new(f));
        ControlHandle {
            shared: Arc::clone(&self.shared),
            id,
            hits,
            keep: false,
        }
    }

    /// Stops a node: closes its listener and every connection to it. Data and leadership are
    /// untouched (move leaders with [`FakeCluster::set_leader`]).
    ///
    /// # Panics
    /// If there is no such node.
    pub fn stop_node(&self, node: i32) {
        self.shared.stop_node(node);
    }

    /// Restarts a stopped node on the same port. Binds at once when the old listener is already
    /// closed; otherwise (stop and start in the same scheduler tick) a task rebinds as soon as
    /// it is, so a client connecting meanwhile may be refused once.
    ///
    /// # Panics
    /// If there is no such node.
    pub fn start_node(&self, node: i32) {
        Shared::start_node(&self.shared, node);
    }

    /// The partition's log: every stored batch, oldest first.
    ///
    /// # Panics
    /// If the topic or partition does not exist.
    pub fn batches(&self, topic: &str, partition: i32) -> Vec<StoredBatch> {
        self.with_partition(topic, partition, |p| p.batches.clone())
    }

    /// The partition's log end offset (next offset to assign).
    ///
    /// # Panics
    /// If the topic or partition does not exist.
    pub fn log_end_offset(&self, topic: &str, partition: i32) -> i64 {
        self.with_partition(topic, partition, |p| p.log_end_offset)
    }

    /// The partition's log start offset.
    ///
    /// # Panics
    /// If the topic or partition does not exist.
    pub fn log_start_offset(&self, topic: &str, partition: i32) -> i64 {
        self.with_partition(topic, partition, |p| p.log_start_offset)
    }

    /// The fake transaction coordinator's view of `transactional_id` (`None`: never
    /// initialized).
    pub fn transaction(&self, transactional_id: &str) -> Option<TxnSummary> {
        let state = lock(&self.shared.state);
        let (producer_id, epoch) = *state.txn_producers.get(transactional_id)?;
        let t = state.txns.get(transactional_id).cloned().unwrap_or_default();
        Some(TxnSummary {
            producer_id,
            epoch,
            ongoing: t.ongoing.is_some(),
            commits: t.commits,
            aborts: t.aborts,
        })
    }

    /// How many requests of this key the cluster has received and decoded (all nodes,
    /// intercepted ones included).
    pub fn request_count(&self, api_key: ApiKey) -> usize {
        self.shared.request_count(api_key)
    }

    /// Connections accepted, all nodes.
    pub fn connections_accepted(&self) -> usize {
        self.shared.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Connections the broker side closed because of a fault: a control's `Drop` or
    /// `HandleThenDrop`, a failed acks=0 produce, or `stop_node`. (Malformed requests also
    /// close the connection but are logged, not counted.)
    pub fn connections_closed_by_fault(&self) -> usize {
        self.shared
            .closed_by_fault
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Connection tasks that panicked: a bug in the fake broker, or a control function that
    /// panicked (e.g. a failed assertion inside it). Tests can assert this is 0.
    pub fn connection_panics(&self) -> usize {
        self.shared.panics.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn node(&self, node: i32) -> &cluster::NodeInfo {
        self.shared.node(node).unwrap_or_else(|| panic!("no node {node}"))
    }

    fn with_partition<R>(
        &self,
        topic: &str,
        partition: i32,
        f: impl FnOnce(&mut cluster::Partition) -> R,
    ) -> R {
        let mut state = lock(&self.shared.state);
        let p = state
            .topics
            .get_mut(topic)
            .and_then(|t| {
                usize::try_from(partition)
                    .ok()
                    .and_then(|i| t.partitions.get_mut(i))
            })
            .unwrap_or_else(|| panic!("no partition {topic}-{partition}"));
        f(p)
    }
}
