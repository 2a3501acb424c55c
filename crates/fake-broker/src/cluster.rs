//! Cluster state: nodes, topics, partition logs, producer state, controls and counters.
//!
//! One `std::sync::Mutex` guards the data state; it is never held across an `.await`, so a
//! handler runs a whole partition append atomically, as a real partition leader does under its
//! log lock.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::ApiKey;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::control::{Action, ControlEntry, ControlFn, ControlRequest};

/// Kafka keeps this many batches per producer per partition for duplicate detection
/// (`ProducerStateEntry.NUM_BATCHES_TO_RETAIN`).
pub(crate) const PRODUCER_BATCHES_TO_RETAIN: usize = 5;

/// One batch in a partition log, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBatch {
    /// The base offset the broker assigned.
    pub base_offset: i64,
    /// Offset of the last record (`base_offset + lastOffsetDelta`).
    pub last_offset: i64,
    /// The batch as stored: the client's bytes with base offset and partition leader epoch
    /// rewritten (CRC unchanged: neither field is covered by it).
    pub bytes: Bytes,
    /// Producer id from the header (-1 when not idempotent).
    pub producer_id: i64,
    /// Producer epoch from the header.
    pub producer_epoch: i16,
    /// Base sequence from the header.
    pub base_sequence: i32,
    /// Record count from the header.
    pub record_count: i32,
    /// Partition leader epoch stamped on append.
    pub partition_leader_epoch: i32,
    /// Max timestamp from the header.
    pub max_timestamp: i64,
}

/// One transactional id's transaction, as the fake coordinator keeps it (Kafka's
/// `TransactionMetadata`, reduced to what the client can observe).
#[derive(Debug, Clone, Default)]
pub(crate) struct TxnEntry {
    /// The partitions of the open transaction (`None`: no transaction open).
    pub(crate) ongoing: Option<std::collections::BTreeSet<(String, i32)>>,
    /// The result of the last completed transaction (true: committed).
    pub(crate) last_result: Option<bool>,
    /// Transactions completed by EndTxn(commit).
    pub(crate) commits: usize,
    /// Transactions completed by EndTxn(abort) or aborted by a fencing InitProducerId.
    pub(crate) aborts: usize,
}

/// What the fake's transaction coordinator knows about one transactional id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnSummary {
    /// Current producer id.
    pub producer_id: i64,
    /// Current epoch.
    pub epoch: i16,
    /// Whether a transaction is open.
    pub ongoing: bool,
    /// Transactions committed (each counted once, however often EndTxn was retried).
    pub commits: usize,
    /// Transactions aborted.
    pub aborts: usize,
}

/// What Kafka's `BatchMetadata` keeps for duplicate detection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchMeta {
    pub(crate) first_seq: i32,
    pub(crate) last_seq: i32,
    pub(crate) first_offset: i64,
    pub(crate) max_timestamp: i64,
}

/// Kafka's `ProducerStateEntry`, per partition and producer id.
#[derive(Debug, Clone)]
pub(crate) struct ProducerEntry {
    pub(crate) epoch: i16,
    pub(crate) batches: VecDeque<BatchMeta>,
}

#[derive(Debug)]
pub(crate) struct Partition {
    pub(crate) leader: i32,
    pub(crate) leader_epoch: i32,
    pub(crate) log_start_offset: i64,
    pub(crate) log_end_offset: i64,
    pub(crate) batches: Vec<StoredBatch>,
    pub(crate) producers: HashMap<i64, ProducerEntry>,
}

impl Partition {
    fn new(leader: i32) -> Self {
        Self {
            leader,
            leader_epoch: 0,
            log_start_offset: 0,
            log_end_offset: 0,
            batches: Vec::new(),
            producers: HashMap::new(),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Topic {
    pub(crate) id: Uuid,
    pub(crate) hidden: bool,
    pub(crate) partitions: Vec<Partition>,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) topics: BTreeMap<String, Topic>,
    pub(crate) next_producer_id: i64,
    /// transactional id → (producer id, epoch), for InitProducerId.
    pub(crate) txn_producers: HashMap<String, (i64, i16)>,
    /// transactional id → its transaction (AddPartitionsToTxn, EndTxn, transactional Produce).
    pub(crate) txns: HashMap<String, TxnEntry>,
    pub(crate) auto_create_topics: bool,
    next_topic_id: u128,
    next_leader: usize,
}

impl State {
    pub(crate) fn topic_by_id(&self, id: Uuid) -> Option<(&String, &Topic)> {
        self.topics.iter().find(|(_, t)| t.id == id)
    }

    /// Creates a topic with the given leaders (one per partition), leader epochs 0.
    pub(crate) fn add_topic(&mut self, name: &str, leaders: Vec<i32>) -> Uuid {
        self.next_topic_id += 1;
        // A recognisable, never-nil id: "fa4e...0001", "fa4e...0002", ...
        let id = Uuid::from_u128((0xfa4e_u128 << 112) | self.next_topic_id);
        let partitions = leaders.into_iter().map(Partition::new).collect();
        self.topics.insert(
            name.to_string(),
            Topic {
                id,
                hidden: false,
                partitions,
            },
        );
        id
    }

    /// Leaders round-robin over `nodes`, continuing where the last topic stopped.
    pub(crate) fn round_robin(&mut self, nodes: &[i32], partitions: i32) -> Vec<i32> {
        (0..partitions)
            .map(|_| {
                let n = nodes[self.next_leader % nodes.len()];
                self.next_leader += 1;
                n
            })
            .collect()
    }
}

#[derive(Debug)]
pub(crate) struct NodeInfo {
    pub(crate) id: i32,
    pub(crate) addr: SocketAddr,
    pub(crate) running: AtomicBool,
}

#[derive(Debug, Default)]
struct NodeRun {
    shutdown: Option<watch::Sender<bool>>,
    accept: Option<JoinHandle<()>>,
}

/// Everything the nodes share. Held by `Arc` in every task.
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    pub(crate) nodes: Vec<NodeInfo>,
    runs: Mutex<HashMap<i32, NodeRun>>,
    controls: Mutex<Vec<ControlEntry>>,
    next_control_id: AtomicU64,
    request_counts: Mutex<HashMap<i16, usize>>,
    pub(crate) accepted: AtomicUsize,
    pub(crate) closed_by_fault: AtomicUsize,
    /// Connection tasks that panicked (a bug here, or a panicking control function).
    pub(crate) panics: AtomicUsize,
    /// Woken after every append, for Fetch long polls.
    pub(crate) appended: Notify,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("nodes", &self.nodes)
            .finish_non_exhaustive()
    }
}

/// Locks a mutex, ignoring poisoning: a control function that panicked (a failed assertion in a
/// test) must not take the whole fake cluster down with it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub(crate) async fn start(nodes: usize) -> Arc<Self> {
        let mut listeners = Vec::with_capacity(nodes);
        let mut infos = Vec::with_capacity(nodes);
        for i in 0..nodes {
            let listener = TcpListener::bind("127.0.0.1:0")
                .await
                .expect("fake broker: bind 127.0.0.1:0");
            let addr = listener.local_addr().expect("fake broker: local_addr");
            let id = i as i32 + 1;
            infos.push(NodeInfo {
                id,
                addr,
                running: AtomicBool::new(true),
            });
            listeners.push((id, listener));
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                topics: BTreeMap::new(),
                next_producer_id: 1000,
                txn_producers: HashMap::new(),
                txns: HashMap::new(),
                auto_create_topics: false,
                next_topic_id: 0,
                next_leader: 0,
            }),
            nodes: infos,
            runs: Mutex::new(HashMap::new()),
            controls: Mutex::new(Vec::new()),
            next_control_id: AtomicU64::new(1),
            request_counts: Mutex::new(HashMap::new()),
            accepted: AtomicUsize::new(0),
            closed_by_fault: AtomicUsize::new(0),
            panics: AtomicUsize::new(0),
            appended: Notify::new(),
        });
        for (id, listener) in listeners {
            Shared::spawn_run(&shared, id, Some(listener), None);
        }
        shared
    }

    pub(crate) fn node(&self, id: i32) -> Option<&NodeInfo> {
        self.nodes.iter().find(|n| n.id == id)
    }

    pub(crate) fn node_ids(&self) -> Vec<i32> {
        self.nodes.iter().map(|n| n.id).collect()
    }

    pub(crate) fn running_node_ids(&self) -> Vec<i32> {
        self.nodes
            .iter()
            .filter(|n| n.running.load(Ordering::SeqCst))
            .map(|n| n.id)
            .collect()
    }

    /// Starts serving `id`: with `listener` if already bound, else binds its port (after `old`,
    /// the previous accept task, has let go of it).
    fn spawn_run(this: &Arc<Self>, id: i32, listener: Option<TcpListener>, old: Option<JoinHandle<()>>) {
        let (tx, rx) = watch::channel(false);
        let shared = Arc::clone(this);
        let addr = this.node(id).map(|n| n.addr).expect("node exists");
        let accept = tokio::spawn(async move {
            let listener = match listener {
                Some(l) => l,
                None => {
                    if let Some(old) = old {
                        let _ = old.await;
                    }
                    match bind_retrying(addr).await {
                        Some(l) => l,
                        None => {
                            tracing::error!(node = id, %addr, "fake broker: could not rebind node port");
                            return;
                        }
                    }
                }
            };
            accept_loop(shared, id, listener, rx).await;
        });
        if let Some(n) = this.node(id) {
            n.running.store(true, Ordering::SeqCst);
        }
        lock(&this.runs).insert(
            id,
            NodeRun {
                shutdown: Some(tx),
                accept: Some(accept),
            },
        );
    }

    pub(crate) fn stop_node(&self, id: i32) {
        let node = self
            .node(id)
            .unwrap_or_else(|| panic!("fake broker: no node {id}"));
        node.running.store(false, Ordering::SeqCst);
        let mut runs = lock(&self.runs);
        if let Some(run) = runs.get_mut(&id) {
            if let Some(tx) = run.shutdown.take() {
                let _ = tx.send(true);
            }
        }
    }

    pub(crate) fn start_node(this: &Arc<Self>, id: i32) {
        let node = this
            .node(id)
            .unwrap_or_else(|| panic!("fake broker: no node {id}"));
        let old = {
            let mut runs = lock(&this.runs);
            let run = runs.entry(id).or_default();
            if run.shutdown.is_some() {
                return; // already running
            }
            run.accept.take()
        };
        // Bind now if the old listener is gone, so the port accepts as soon as we return.
        let old = old.filter(|h| !h.is_finished());
        let listener = if old.is_none() { bind_now(node.addr) } else { None };
        Shared::spawn_run(this, id, listener, old);
    }

    pub(crate) fn stop_all(&self) {
        for n in &self.nodes {
            self.stop_node(n.id);
        }
    }

    pub(crate) fn add_control(this: &Arc<Self>, key: ApiKey, f: ControlFn) -> (u64, Arc<AtomicUsize>) {
        let id = this.next_control_id.fetch_add(1, Ordering::SeqCst);
        let hits = Arc::new(AtomicUsize::new(0));
        lock(&this.controls).push(ControlEntry {
            id,
            key,
            f: Arc::new(Mutex::new(f)),
            hits: Arc::clone(&hits),
        });
        (id, hits)
    }

    pub(crate) fn remove_control(&self, id: u64) {
        lock(&self.controls).retain(|c| c.id != id);
    }

    /// Asks the controls for `req`'s key, newest first; the first non-`Pass` answer wins.
    /// The control list lock is not held while a control runs, so a control may itself change
    /// the cluster (move a leader, add or remove controls).
    pub(crate) fn consult(&self, key: ApiKey, req: &ControlRequest) -> Action {
        let entries: Vec<_> = lock(&self.controls)
            .iter()
            .rev()
            .filter(|c| c.key == key)
            .map(|c| (Arc::clone(&c.f), Arc::clone(&c.hits)))
            .collect();
        for (f, hits) in entries {
            let action = (lock(&f))(req);
            if !matches!(action, Action::Pass) {
                hits.fetch_add(1, Ordering::SeqCst);
                return action;
            }
        }
        Action::Pass
    }

    /// Counts a request of `key`; returns its 0-based sequence number.
    pub(crate) fn count_request(&self, key: ApiKey) -> usize {
        let mut counts = lock(&self.request_counts);
        let c = counts.entry(key as i16).or_insert(0);
        *c += 1;
        *c - 1
    }

    pub(crate) fn request_count(&self, key: ApiKey) -> usize {
        lock(&self.request_counts)
            .get(&(key as i16))
            .copied()
            .unwrap_or(0)
    }
}

fn bind_now(addr: SocketAddr) -> Option<TcpListener> {
    let std = std::net::TcpListener::bind(addr).ok()?;
    std.set_nonblocking(true).ok()?;
    TcpListener::from_std(std).ok()
}

async fn bind_retrying(addr: SocketAddr) -> Option<TcpListener> {
    for _ in 0..100 {
        if let Ok(l) = TcpListener::bind(addr).await {
            return Some(l);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

async fn accept_loop(
    shared: Arc<Shared>,
    node: i32,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            biased;
            _ = shutdown.changed() => return,
            r = listener.accept() => match r {
                Ok((stream, peer)) => {
                    shared.accepted.fetch_add(1, Ordering::SeqCst);
                    tracing::debug!(node, %peer, "fake broker: accepted connection");
                    let _ = stream.set_nodelay(true);
                    let task = tokio::spawn(crate::conn::serve(Arc::clone(&shared), node, stream, shutdown.clone()));
                    // tokio swallows a task's panic; count it so tests can assert there was none.
                    let watcher = Arc::clone(&shared);
                    tokio::spawn(async move {
                        if let Err(e) = task.await {
                            if e.is_panic() {
                                watcher.panics.fetch_add(1, Ordering::SeqCst);
                                tracing::error!(node, "fake broker: connection task panicked");
                            }
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(node, error = %e, "fake broker: accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
}
