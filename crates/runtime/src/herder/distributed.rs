//! Distributed mode's herder: Connect's `DistributedHerder`. Workers with the same `group.id`
//! form a group on Kafka's group coordinator; the config topic is the cluster's source of
//! truth; each worker runs the connectors and tasks the leader assigns it.
//!
//! ```text
//!  REST write (any worker) ──▶ config topic record ─┐
//!                                                   ▼
//!  config loop (every worker): read to the end ── ConfigState ── changes ──▶ reconcile what
//!     │  the connectors/task counts changed and this worker leads? request a rebalance  runs here
//!     ▼
//!  worker group (distributed::group): leader assigns from the config snapshot
//!     on_revoked ─▶ stop those connectors/tasks      on_assigned ─▶ reconcile
//!
//!  reconcile: an assigned connector in STARTED/PAUSED runs here; once started it generates
//!    task configs, and when they differ from the committed ones writes task-X-N + commit-X;
//!    an assigned task runs here with its committed config while its connector is STARTED.
//!    Every change is written to the status topic; every worker reads it to answer GET status.
//! ```
//!
//! Deviations from Connect, documented in the README: a REST write is written to the config
//! topic by the worker that received it (Connect forwards it to the leader), and a connector's
//! task configs by the worker that runs the connector; a task restart is served by the worker
//! that runs the task.

use super::api::{Herder, HerderError};
use super::spawn::{client_props, spawn_task, Instance, TaskContext, TaskHandle};
use super::standalone::TaskMetrics;
use super::status::State;
use super::validate;
use super::view::{ConnectorInfo, ConnectorStatus, ConnectorType, StateInfo, TargetState};
use crate::config::providers::ConfigProviders;
use crate::config::{connector, worker, Parsed};
use crate::connector::{ConnectError, ConnectorContext, Props};
use crate::distributed::config_topic::{ConfigChange, ConfigRecord, ConfigState};
use crate::distributed::internal_topics::InternalTopics;
use crate::distributed::status_topic::{StatusRecord, StatusValue};
use crate::distributed::{
    Allocation, ConnectAssignment, ConnectProtocolMode, LeaderSnapshot, TaskId as DTaskId,
    WorkerGroupListener, WorkerGroupProtocol, WorkerGroupSettings,
};
use crate::plugins::{self, Plugins};
use crate::storage::kafka_log::KafkaLog;
use crate::storage::offset_topic::OffsetTopic;
use crate::worker::{ActiveTopics, OffsetStore, TaskId};
use bytes::Bytes;
use kaflow_client::admin::Admin;
use kaflow_client::cluster::Cluster;
use kaflow_client::consumer::ConsumerConfig;
use kaflow_client::group::{GroupConfig, MemberHandle, Membership};
use kaflow_client::producer::ProducerConfig;
use kaflow_client::ClientConfig;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::task::JoinHandle;

/// How often every worker reads the config and status topics for changes.
const TAIL_INTERVAL: Duration = Duration::from_millis(250);

/// A connector running on this worker.
struct LocalConnector {
    instance: Instance,
    /// The config it was started with (a change restarts it).
    config: BTreeMap<String, String>,
}

/// A task running on this worker, with the config it was started with.
struct LocalTask {
    handle: TaskHandle,
    config: BTreeMap<String, String>,
}

/// What this worker was assigned and what runs here.
#[derive(Default)]
struct Local {
    assigned_connectors: BTreeSet<String>,
    assigned_tasks: BTreeSet<DTaskId>,
    connectors: BTreeMap<String, LocalConnector>,
    tasks: BTreeMap<DTaskId, LocalTask>,
    /// Each connector's active topics (KIP-558), kept across task restarts here.
    topics: BTreeMap<String, Arc<ActiveTopics>>,
    /// Failures of connectors assigned here (their status trace).
    failed: BTreeMap<String, String>,
}

/// What the config topic says should run: target states, connector configs, task configs.
type Desired = (
    BTreeMap<String, TargetState>,
    BTreeMap<String, BTreeMap<String, String>>,
    BTreeMap<DTaskId, BTreeMap<String, String>>,
);

/// State every part of the herder shares: the REST side, the group listener, the loops.
struct Shared {
    worker: Parsed,
    plugins: Plugins,
    providers: ConfigProviders,
    cluster: Arc<Cluster>,
    /// The REST URL other workers are given, and the `worker_id` in statuses (`host:port`).
    url: OnceLock<(String, String)>,
    config_log: KafkaLog,
    status_log: KafkaLog,
    offsets: Arc<OffsetTopic>,
    configs: Mutex<ConfigState>,
    /// Serialises config-topic reads (the loop and the leader's snapshot).
    config_reader: tokio::sync::Mutex<()>,
    /// Latest status per status-topic key.
    statuses: Mutex<BTreeMap<String, StatusValue>>,
    local: tokio::sync::Mutex<Local>,
    generation: AtomicI32,
    /// The connectors and task counts of the last assignment this worker received.
    assigned_from: Mutex<LeaderSnapshot>,
    /// The leader's member id in the last assignment.
    assigned_leader: Mutex<String>,
    member: OnceLock<MemberHandle>,
    /// Where tasks' producers and consumers register their metrics.
    client_metrics: Arc<kaflow_client::metrics::Registry>,
}

/// A distributed worker: the [`Herder`] behind the REST API of `kaflow distributed`.
pub struct DistributedWorker {
    shared: Arc<Shared>,
    membership: Option<Membership>,
    group: GroupConfig,
    settings: WorkerGroupSettings,
    loops: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for DistributedWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DistributedWorker")
            .field("group", &self.group.group_id)
            .finish_non_exhaustive()
    }
}

fn invalid(e: impl std::fmt::Display) -> HerderError {
    HerderError::Invalid(e.to_string())
}

fn to_worker_task(id: &DTaskId) -> TaskId {
    TaskId {
        connector: id.connector.clone(),
        task: id.task.max(0) as u32,
    }
}

impl DistributedWorker {
    /// Validates the worker properties, connects to Kafka, creates the internal topics if
    /// missing and reads them. The worker joins its group at [`Self::join`], once its REST
    /// URL is known.
    pub async fn start(props: BTreeMap<String, String>, plugins: Plugins) -> Result<Self, HerderError> {
        let w = worker::distributed_def()
            .parse(&props)
            .map_err(|errors| HerderError::Config {
                what: "worker config".into(),
                errors,
            })?;
        let providers =
            ConfigProviders::from_worker(&props).map_err(|e| invalid(format!("worker config: {e}")))?;
        let base = client_props(&w, "", &BTreeMap::new());
        let client = ClientConfig::from_properties(&base).map_err(invalid)?;
        let cluster = Cluster::connect(client).await?;
        // Created if missing (compacted, Connect's defaults); refused with what to fix when an
        // existing one has the wrong partition count or cleanup policy.
        let mut raw = kaflow_client::Properties::new();
        for (k, v) in &props {
            raw.set(k, v);
        }
        let topics = InternalTopics::from_properties(&raw).map_err(invalid)?;
        topics
            .ensure(&Admin::new(Arc::clone(&cluster)))
            .await
            .map_err(invalid)?;
        let consumer = ConsumerConfig::from_properties(&client_props(&w, "consumer.", &BTreeMap::new()))
            .map_err(invalid)?;
        let producer = ProducerConfig::from_properties(&client_props(&w, "producer.", &BTreeMap::new()))
            .map_err(invalid)?;
        let timeout = Duration::from_secs(60);
        let open = |key: &str| {
            let topic = w.string(key).unwrap_or_default().to_string();
            let (cluster, consumer, producer) = (Arc::clone(&cluster), consumer.clone(), producer.clone());
            async move { KafkaLog::open(cluster, &topic, consumer, producer, timeout).await }
        };
        let config_log = open("config.storage.topic").await.map_err(invalid)?;
        let status_log = open("status.storage.topic").await.map_err(invalid)?;
        let offsets = OffsetTopic::open(open("offset.storage.topic").await.map_err(invalid)?)
            .await
            .map_err(invalid)?;
        let group_id = w.string("group.id").unwrap_or_default().to_string();
        let mut gp = base.clone();
        gp.set("group.id", &group_id);
        for key in [
            "session.timeout.ms",
            "heartbeat.interval.ms",
            "rebalance.timeout.ms",
        ] {
            if let Some(v) = w.long(key) {
                gp.set(key, v);
            }
        }
        let group = GroupConfig::from_properties(&gp).map_err(invalid)?;
        let mode = ConnectProtocolMode::from_config(w.string("connect.protocol").unwrap_or("sessioned"))
            .ok_or_else(|| invalid("connect.protocol must be eager, compatible or sessioned"))?;
        let settings = WorkerGroupSettings {
            group_id,
            mode,
            max_delay_ms: w.long("scheduled.rebalance.max.delay.ms").unwrap_or(300_000) as u64,
        };
        let shared = Arc::new(Shared {
            worker: w,
            plugins,
            providers,
            cluster,
            url: OnceLock::new(),
            config_log,
            status_log,
            offsets: Arc::new(offsets),
            configs: Mutex::new(ConfigState::new()),
            config_reader: tokio::sync::Mutex::new(()),
            statuses: Mutex::default(),
            local: tokio::sync::Mutex::default(),
            generation: AtomicI32::new(-1),
            assigned_from: Mutex::default(),
            assigned_leader: Mutex::default(),
            member: OnceLock::new(),
            client_metrics: kaflow_client::metrics::Registry::new(),
        });
        shared.read_configs().await?;
        shared.read_statuses().await?;
        Ok(Self {
            shared,
            membership: None,
            group,
            settings,
            loops: Vec::new(),
        })
    }

    /// Joins the worker group with `url` (this worker's REST URL, e.g. `http://127.0.0.1:8083/`)
    /// and `worker_id` (`host:port`), and starts reading the config and status topics.
    pub fn join(&mut self, url: String, worker_id: String) {
        let _ = self.shared.url.set((url, worker_id));
        let listener = Listener(Arc::clone(&self.shared));
        let membership = Membership::start(
            Arc::clone(&self.shared.cluster),
            self.group.clone(),
            WorkerGroupProtocol::new(self.settings.clone(), listener),
        );
        let _ = self.shared.member.set(membership.handle().clone());
        self.membership = Some(membership);
        let shared = Arc::clone(&self.shared);
        self.loops
            .push(tokio::spawn(async move { shared.config_loop().await }));
        let shared = Arc::clone(&self.shared);
        self.loops
            .push(tokio::spawn(async move { shared.status_loop().await }));
    }

    /// One line per task running here: records moved so far.
    pub async fn progress(&self) -> Vec<String> {
        let local = self.shared.local.lock().await;
        local
            .tasks
            .iter()
            .map(|(id, t)| {
                let done = t
                    .handle
                    .source_stats
                    .as_ref()
                    .map(|s| s.written.load(Ordering::Relaxed))
                    .or_else(|| {
                        t.handle
                            .sink_stats
                            .as_ref()
                            .map(|s| s.put.load(Ordering::Relaxed))
                    })
                    .unwrap_or(0);
                format!("{id}: {done} records")
            })
            .collect()
    }

    /// Leaves the group (its callbacks stop what runs here) and closes the clients.
    pub async fn stop(&mut self) {
        for l in self.loops.drain(..) {
            l.abort();
        }
        if let Some(m) = self.membership.take() {
            if let Err(e) = m.close().await {
                tracing::warn!(error = %e, "leaving the worker group failed");
            }
        }
        // Whatever a failed membership left running.
        let mut local = self.shared.local.lock().await;
        local.assigned_connectors.clear();
        local.assigned_tasks.clear();
        self.shared.reconcile(&mut local).await;
        drop(local);
        self.shared.offsets.close().await;
        self.shared.config_log.close().await;
        self.shared.status_log.close().await;
    }

    async fn write_config(&self, records: Vec<ConfigRecord>) -> Result<(), HerderError> {
        self.shared.write_config(records).await?;
        self.shared.read_configs().await
    }

    fn config_of(&self, name: &str) -> Result<BTreeMap<String, String>, HerderError> {
        let configs = self.shared.configs.lock().unwrap_or_else(|e| e.into_inner());
        configs
            .connector_config(name)
            .cloned()
            .ok_or_else(|| HerderError::NotFound(name.to_string()))
    }

    /// `config` with PASSWORD keys and client secrets hidden.
    fn hidden(&self, name: &str, config: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let passwords = validate::validate(&self.shared.plugins, &self.shared.worker, name, config)
            .map(|v| v.password_keys)
            .unwrap_or_default();
        config
            .iter()
            .map(|(k, v)| {
                let secret = passwords.contains(k) || connector::is_client_secret(k);
                (k.clone(), if secret { "[hidden]".to_string() } else { v.clone() })
            })
            .collect()
    }

    fn kind_of(&self, config: &BTreeMap<String, String>) -> ConnectorType {
        let class = config
            .get("connector.class")
            .map(String::as_str)
            .unwrap_or_default();
        match self.shared.plugins.connector(class) {
            Ok((_, plugins::ConnectorFactory::Sink(_))) => ConnectorType::Sink,
            _ => ConnectorType::Source,
        }
    }

    fn target(&self, name: &str, state: TargetState) -> ConfigRecord {
        ConfigRecord::TargetState {
            connector: name.to_string(),
            state: Some(state),
        }
    }
}

impl Shared {
    fn worker_id(&self) -> String {
        self.url.get().map(|u| u.1.clone()).unwrap_or_default()
    }

    /// Reads the config topic to its end; returns what changed.
    async fn read_configs(&self) -> Result<(), HerderError> {
        self.read_config_changes().await.map(drop)
    }

    async fn read_config_changes(&self) -> Result<Vec<ConfigChange>, HerderError> {
        let _one = self.config_reader.lock().await;
        let mut records = Vec::new();
        self.config_log
            .read_to_end(|r| records.push((r.offset, r.key.clone(), r.value.clone())))
            .await
            .map_err(invalid)?;
        let mut configs = self.configs.lock().unwrap_or_else(|e| e.into_inner());
        let mut changes = Vec::new();
        for (offset, key, value) in records {
            match configs.apply(offset, key.as_deref(), value.as_deref()) {
                Ok(c) => changes.push(c),
                Err(e) => tracing::warn!(offset, error = %e, "skipping a config topic record"),
            }
        }
        Ok(changes)
    }

    async fn write_config(&self, records: Vec<ConfigRecord>) -> Result<(), HerderError> {
        let batch = records
            .iter()
            .map(|r| (Some(Bytes::from(r.key().to_string())), r.value()))
            .collect();
        self.config_log.send_all(batch).await.map_err(invalid)
    }

    async fn read_statuses(&self) -> Result<(), HerderError> {
        let mut records = Vec::new();
        self.status_log
            .read_to_end(|r| records.push((r.key.clone(), r.value.clone())))
            .await
            .map_err(invalid)?;
        let mut statuses = self.statuses.lock().unwrap_or_else(|e| e.into_inner());
        for (key, value) in records {
            match StatusRecord::decode(key.as_deref(), value.as_deref()) {
                Ok(rec) => {
                    let key = rec.key();
                    match rec {
                        StatusRecord::Connector { status: Some(s), .. }
                        | StatusRecord::Task { status: Some(s), .. } => {
                            statuses.insert(key, s);
                        }
                        StatusRecord::Connector { status: None, .. }
                        | StatusRecord::Task { status: None, .. } => {
                            statuses.remove(&key);
                        }
                        StatusRecord::Topic { .. } => {}
                    }
                }
                Err(e) => tracing::warn!(error = %e, "skipping a status topic record"),
            }
        }
        Ok(())
    }

    /// Writes a connector's (`task` None) or a task's status.
    async fn put_status(&self, connector: &str, task: Option<i32>, state: State, trace: Option<String>) {
        let status = StatusValue {
            state,
            trace,
            worker_id: self.worker_id(),
            generation: self.generation.load(Ordering::Relaxed),
            version: None,
        };
        let rec = match task {
            None => StatusRecord::Connector {
                name: connector.to_string(),
                status: Some(status.clone()),
            },
            Some(n) => StatusRecord::Task {
                id: DTaskId::new(connector, n),
                status: Some(status.clone()),
            },
        };
        let key = rec.key();
        let written = self
            .status_log
            .send_all(vec![(Some(Bytes::from(key.clone())), rec.value())])
            .await;
        if let Err(e) = written {
            tracing::warn!(connector, ?task, error = %e, "writing a status failed");
        }
        self.statuses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, status);
    }

    async fn config_loop(self: Arc<Self>) {
        let mut tick = tokio::time::interval(TAIL_INTERVAL);
        loop {
            tick.tick().await;
            let changes = match self.read_config_changes().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "reading the config topic failed; retrying");
                    continue;
                }
            };
            if changes.is_empty() {
                continue;
            }
            let mut local = self.local.lock().await;
            for change in &changes {
                match change {
                    // A reconfigured connector restarts (and regenerates its task configs).
                    ConfigChange::ConnectorUpdated(c) => {
                        self.stop_connector_here(&mut local, c).await;
                    }
                    ConfigChange::RestartRequested(c, req) => {
                        if local.connectors.contains_key(c) && !req.only_failed {
                            self.stop_connector_here(&mut local, c).await;
                        }
                        local.failed.remove(c);
                        if req.include_tasks {
                            let ids: Vec<DTaskId> = local
                                .tasks
                                .keys()
                                .filter(|t| &t.connector == c)
                                .cloned()
                                .collect();
                            for id in ids {
                                let failed = local.tasks.get(&id).is_some_and(|t| t.handle.trace().is_some());
                                if !req.only_failed || failed {
                                    self.stop_task_here(&mut local, &id).await;
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
            self.reconcile(&mut local).await;
            drop(local);
            self.rebalance_if_needed();
        }
    }

    /// The leader asks for a rebalance when connectors or task counts changed since the last
    /// assignment.
    fn rebalance_if_needed(&self) {
        let snapshot = self
            .configs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .assignment_snapshot();
        let changed = self
            .assigned_from
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .connectors
            != snapshot.connectors;
        let Some(member) = self.member.get() else { return };
        if changed && self.leads() {
            member.request_rejoin("connectors or task configs changed");
        }
    }

    fn leads(&self) -> bool {
        let Some(member) = self.member.get() else {
            return false;
        };
        let (Some(generation), Ok(a)) = (member.generation(), self.assigned_leader.lock()) else {
            return false;
        };
        *a == generation.member_id
    }

    async fn status_loop(self: Arc<Self>) {
        let mut tick = tokio::time::interval(TAIL_INTERVAL);
        loop {
            tick.tick().await;
            if let Err(e) = self.read_statuses().await {
                tracing::warn!(error = %e, "reading the status topic failed; retrying");
            }
        }
    }

    async fn stop_task_here(&self, local: &mut Local, id: &DTaskId) {
        if let Some(mut t) = local.tasks.remove(id) {
            let deadline = tokio::time::Instant::now()
                + Duration::from_millis(
                    self.worker
                        .long("task.shutdown.graceful.timeout.ms")
                        .unwrap_or(5000) as u64,
                );
            t.handle.stop_by(deadline).await;
        }
    }

    async fn stop_connector_here(&self, local: &mut Local, name: &str) {
        if let Some(mut c) = local.connectors.remove(name) {
            let stopped = match &mut c.instance {
                Instance::Source(i) => i.stop().await,
                Instance::Sink(i) => i.stop().await,
            };
            if let Err(e) = stopped {
                tracing::warn!(connector = %name, error = %e, "connector stop failed");
            }
        }
    }

    /// Brings what runs here in line with the assignment, the target states and the
    /// committed configs.
    async fn reconcile(&self, local: &mut Local) {
        let (targets, configs, tasks): Desired = {
            let c = self.configs.lock().unwrap_or_else(|e| e.into_inner());
            let names: Vec<String> = c.connectors().map(str::to_string).collect();
            (
                names
                    .iter()
                    .filter_map(|n| Some((n.clone(), c.target_state(n)?)))
                    .collect(),
                names
                    .iter()
                    .filter_map(|n| Some((n.clone(), c.connector_config(n)?.clone())))
                    .collect(),
                names
                    .iter()
                    .flat_map(|n| c.tasks(n).into_iter().map(|(id, p)| (id, p.clone())))
                    .collect(),
            )
        };
        // Tasks first: stop what is no longer ours, paused, or reconfigured.
        let running: Vec<DTaskId> = local.tasks.keys().cloned().collect();
        for id in running {
            let keep = local.assigned_tasks.contains(&id)
                && targets.get(&id.connector) == Some(&TargetState::Started)
                && tasks.get(&id) == local.tasks.get(&id).map(|t| &t.config);
            if !keep {
                self.stop_task_here(local, &id).await;
                let state = match targets.get(&id.connector) {
                    Some(TargetState::Paused) if local.assigned_tasks.contains(&id) => Some(State::Paused),
                    _ => None,
                };
                if let Some(s) = state {
                    self.put_status(&id.connector, Some(id.task), s, None).await;
                }
            }
        }
        let running: Vec<String> = local.connectors.keys().cloned().collect();
        for name in running {
            let keep = local.assigned_connectors.contains(&name)
                && matches!(
                    targets.get(&name),
                    Some(TargetState::Started | TargetState::Paused)
                )
                && configs.get(&name) == local.connectors.get(&name).map(|c| &c.config);
            if !keep {
                self.stop_connector_here(local, &name).await;
            }
        }
        let assigned: Vec<String> = local.assigned_connectors.iter().cloned().collect();
        for name in assigned {
            let (Some(target), Some(config)) = (targets.get(&name), configs.get(&name)) else {
                continue;
            };
            if *target == TargetState::Stopped {
                self.put_status_once(&name, None, State::Stopped).await;
                continue;
            }
            if local.connectors.contains_key(&name) || local.failed.contains_key(&name) {
                continue;
            }
            match self.start_connector_here(&name, config).await {
                Ok((instance, generated)) => {
                    local.connectors.insert(
                        name.clone(),
                        LocalConnector {
                            instance,
                            config: config.clone(),
                        },
                    );
                    let state = if *target == TargetState::Paused {
                        State::Paused
                    } else {
                        State::Running
                    };
                    self.put_status(&name, None, state, None).await;
                    self.commit_task_configs(&name, generated, &tasks).await;
                }
                Err(trace) => {
                    tracing::error!(connector = %name, error = %trace, "connector failed to start");
                    local.failed.insert(name.clone(), trace.clone());
                    self.put_status(&name, None, State::Failed, Some(trace)).await;
                }
            }
        }
        let assigned: Vec<DTaskId> = local.assigned_tasks.iter().cloned().collect();
        for id in assigned {
            if local.tasks.contains_key(&id) {
                continue;
            }
            let (Some(target), Some(config), Some(task_config)) = (
                targets.get(&id.connector),
                configs.get(&id.connector),
                tasks.get(&id),
            ) else {
                continue;
            };
            match target {
                TargetState::Started => {}
                TargetState::Paused => {
                    self.put_status_once(&id.connector, Some(id.task), State::Paused)
                        .await;
                    continue;
                }
                TargetState::Stopped => continue,
            }
            let topics = Arc::clone(local.topics.entry(id.connector.clone()).or_default());
            match self.start_task_here(&id, config, task_config, topics).await {
                Ok(handle) => {
                    local.tasks.insert(
                        id.clone(),
                        LocalTask {
                            handle,
                            config: task_config.clone(),
                        },
                    );
                    self.put_status(&id.connector, Some(id.task), State::Running, None)
                        .await;
                }
                Err(e) => {
                    tracing::error!(task = %id, error = %e, "task failed to start");
                    self.put_status(&id.connector, Some(id.task), State::Failed, Some(e.to_string()))
                        .await;
                }
            }
        }
    }

    /// Writes a status unless this worker already wrote that state for it.
    async fn put_status_once(&self, connector: &str, task: Option<i32>, state: State) {
        let key = match task {
            None => StatusRecord::Connector {
                name: connector.to_string(),
                status: None,
            },
            Some(n) => StatusRecord::Task {
                id: DTaskId::new(connector, n),
                status: None,
            },
        }
        .key();
        let same = self
            .statuses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .is_some_and(|s| s.state == state && s.worker_id == self.worker_id());
        if !same {
            self.put_status(connector, task, state, None).await;
        }
    }

    /// Starts connector `name` here and asks it for its task configs.
    async fn start_connector_here(
        &self,
        name: &str,
        config: &BTreeMap<String, String>,
    ) -> Result<(Instance, Vec<Props>), String> {
        let resolved = self
            .providers
            .resolve(config)
            .map_err(|e| format!("connector {name}: {e}"))?;
        let v =
            validate::validate(&self.plugins, &self.worker, name, &resolved).map_err(|e| e.to_string())?;
        let mut instance = v.instance;
        let max_tasks = resolved
            .get("tasks.max")
            .and_then(|t| t.trim().parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        let ctx: Arc<dyn ConnectorContext> = Arc::new(LoggingContext(name.to_string()));
        let generated = match &mut instance {
            Instance::Source(c) => match c.start(resolved.clone(), ctx).await {
                Ok(()) => c.task_configs(max_tasks).await,
                Err(e) => Err(e),
            },
            Instance::Sink(c) => match c.start(resolved.clone(), ctx).await {
                Ok(()) => c.task_configs(max_tasks).await,
                Err(e) => Err(e),
            },
        };
        let mut generated = generated.map_err(|e| format!("connector {name} failed to start: {e}"))?;
        generated.truncate(max_tasks);
        let task_class = resolved
            .get("connector.class")
            .and_then(|c| self.plugins.connector(c).ok())
            .map(|(info, _)| plugins::task_class(&info.class));
        if let Some(t) = task_class {
            for c in &mut generated {
                c.insert("task.class".into(), t.clone());
            }
        }
        Ok((instance, generated))
    }

    /// Writes `generated` as connector `name`'s task configs unless they are what is committed.
    async fn commit_task_configs(
        &self,
        name: &str,
        generated: Vec<Props>,
        committed: &BTreeMap<DTaskId, BTreeMap<String, String>>,
    ) {
        let current: Vec<&BTreeMap<String, String>> = committed
            .iter()
            .filter(|(id, _)| id.connector == name)
            .map(|(_, p)| p)
            .collect();
        if current.len() == generated.len() && current.iter().zip(&generated).all(|(a, b)| *a == b) {
            return;
        }
        let mut records: Vec<ConfigRecord> = generated
            .into_iter()
            .enumerate()
            .map(|(n, properties)| ConfigRecord::Task {
                id: DTaskId::new(name, n as i32),
                properties,
            })
            .collect();
        records.push(ConfigRecord::Commit {
            connector: name.to_string(),
            tasks: records.len() as u32,
        });
        if let Err(e) = self.write_config(records).await {
            tracing::error!(connector = %name, error = %e, "writing task configs failed");
        }
    }

    async fn start_task_here(
        &self,
        id: &DTaskId,
        config: &BTreeMap<String, String>,
        task_config: &BTreeMap<String, String>,
        topics: Arc<ActiveTopics>,
    ) -> Result<TaskHandle, HerderError> {
        let name = id.connector.as_str();
        let resolved = self
            .providers
            .resolve(config)
            .map_err(|e| invalid(format!("connector {name}: {e}")))?;
        let v = validate::validate(&self.plugins, &self.worker, name, &resolved)?;
        let task_props = self
            .providers
            .resolve(task_config)
            .map_err(|e| invalid(format!("task {id}: {e}")))?;
        if v.kind == ConnectorType::Source {
            // Another worker may have run this task until the rebalance: read its offsets.
            self.offsets.refresh().await.map_err(invalid)?;
        }
        let task = v.instance.create_task();
        let cx = TaskContext {
            worker: &self.worker,
            cluster: &self.cluster,
            store: Arc::clone(&self.offsets) as Arc<dyn OffsetStore>,
            config: &resolved,
            parsed: &v.parsed,
            topics: &topics,
            metrics: &self.client_metrics,
        };
        spawn_task(&cx, task, to_worker_task(id), task_props).await
    }
}

/// The connector context of distributed mode: a reconfiguration request is applied when the
/// connector restarts (a config change or a restart request).
struct LoggingContext(String);

impl ConnectorContext for LoggingContext {
    fn request_task_reconfiguration(&self) {
        tracing::info!(connector = %self.0, "task reconfiguration requested (applied at the connector's next restart)");
    }
    fn raise_error(&self, error: ConnectError) {
        tracing::error!(connector = %self.0, %error, "connector raised an error");
    }
}

/// The group's callbacks into the herder.
struct Listener(Arc<Shared>);

impl WorkerGroupListener for Listener {
    fn url(&self) -> String {
        self.0.url.get().map(|u| u.0.clone()).unwrap_or_default()
    }

    fn config_offset(&self) -> i64 {
        self.0.configs.lock().unwrap_or_else(|e| e.into_inner()).offset()
    }

    async fn leader_snapshot(&mut self) -> LeaderSnapshot {
        if let Err(e) = self.0.read_configs().await {
            tracing::warn!(error = %e, "the leader could not read the config topic to its end");
        }
        self.0
            .configs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .assignment_snapshot()
    }

    async fn on_revoked(&mut self, _leader: &str, revoked: &Allocation) {
        let mut local = self.0.local.lock().await;
        for c in &revoked.connectors {
            local.assigned_connectors.remove(c);
        }
        for t in &revoked.tasks {
            local.assigned_tasks.remove(t);
        }
        self.0.reconcile(&mut local).await;
    }

    async fn on_assigned(&mut self, assignment: &ConnectAssignment, generation: i32) -> bool {
        let shared = &self.0;
        shared.generation.store(generation, Ordering::Relaxed);
        if let Err(e) = shared.read_configs().await {
            tracing::warn!(error = %e, "reading the config topic after a rebalance failed");
        }
        *shared.assigned_from.lock().unwrap_or_else(|e| e.into_inner()) = shared
            .configs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .assignment_snapshot();
        *shared.assigned_leader.lock().unwrap_or_else(|e| e.into_inner()) = assignment.leader.clone();
        tracing::info!(
            generation,
            leader = %assignment.leader,
            connectors = ?assignment.connectors,
            tasks = assignment.tasks.len(),
            delay_ms = assignment.delay_ms,
            "joined the worker group"
        );
        if assignment.delay_ms > 0 {
            // KIP-415: the leader holds a departed worker's work; rejoin when the delay ends.
            if let Some(member) = shared.member.get().cloned() {
                let delay = Duration::from_millis(assignment.delay_ms as u64);
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    member.request_rejoin("scheduled rebalance delay expired");
                });
            }
        }
        let mut local = shared.local.lock().await;
        local.assigned_connectors = assignment.connectors.iter().cloned().collect();
        local.assigned_tasks = assignment.tasks.iter().cloned().collect();
        shared.reconcile(&mut local).await;
        false
    }
}

#[async_trait::async_trait]
impl Herder for DistributedWorker {
    fn worker_config(&self) -> &Parsed {
        &self.shared.worker
    }

    fn plugins(&self) -> &Plugins {
        &self.shared.plugins
    }

    fn cluster(&self) -> &Arc<Cluster> {
        &self.shared.cluster
    }

    fn connector_names(&self) -> Vec<String> {
        let configs = self.shared.configs.lock().unwrap_or_else(|e| e.into_inner());
        configs.connectors().map(str::to_string).collect()
    }

    fn info(&self, name: &str) -> Result<ConnectorInfo, HerderError> {
        let config = self.config_of(name)?;
        let tasks = {
            let configs = self.shared.configs.lock().unwrap_or_else(|e| e.into_inner());
            configs
                .tasks(name)
                .iter()
                .map(|(id, _)| to_worker_task(id))
                .collect()
        };
        Ok(ConnectorInfo {
            name: name.to_string(),
            kind: self.kind_of(&config),
            config: self.hidden(name, &config),
            tasks,
        })
    }

    fn raw_config(&self, name: &str) -> Result<BTreeMap<String, String>, HerderError> {
        self.config_of(name)
    }

    fn status(&self, name: &str) -> Result<ConnectorStatus, HerderError> {
        let config = self.config_of(name)?;
        let n = {
            let configs = self.shared.configs.lock().unwrap_or_else(|e| e.into_inner());
            configs.tasks(name).len()
        };
        let statuses = self.shared.statuses.lock().unwrap_or_else(|e| e.into_inner());
        let line = |key: String| match statuses.get(&key) {
            Some(s) => StateInfo {
                state: s.state,
                worker_id: s.worker_id.clone(),
                trace: s.trace.clone(),
                version: s.version.clone(),
            },
            None => StateInfo {
                state: State::Unassigned,
                worker_id: String::new(),
                trace: None,
                version: None,
            },
        };
        let connector = line(
            StatusRecord::Connector {
                name: name.to_string(),
                status: None,
            }
            .key(),
        );
        let tasks = (0..n as i32)
            .map(|t| {
                let key = StatusRecord::Task {
                    id: DTaskId::new(name, t),
                    status: None,
                }
                .key();
                (t as u32, line(key))
            })
            .collect();
        Ok(ConnectorStatus {
            name: name.to_string(),
            connector,
            tasks,
            kind: self.kind_of(&config),
        })
    }

    fn task_configs(&self, name: &str) -> Result<Vec<(TaskId, Props)>, HerderError> {
        let config = self.config_of(name)?;
        let configs = self.shared.configs.lock().unwrap_or_else(|e| e.into_inner());
        Ok(configs
            .tasks(name)
            .into_iter()
            .map(|(id, p)| {
                (
                    to_worker_task(&id),
                    self.hidden(name, p).into_iter().chain([]).collect(),
                )
            })
            .filter(|_| !config.is_empty())
            .collect())
    }

    fn active_topics(&self, name: &str) -> Result<Vec<String>, HerderError> {
        self.config_of(name)?;
        // Topics used by this worker's tasks of the connector (KIP-558's cluster-wide view
        // through the status topic is not served yet).
        Ok(self
            .shared
            .local
            .try_lock()
            .ok()
            .and_then(|l| l.topics.get(name).map(|t| t.topics()))
            .unwrap_or_default())
    }

    fn reset_active_topics(&self, name: &str) -> Result<(), HerderError> {
        self.config_of(name)?;
        if let Ok(l) = self.shared.local.try_lock() {
            if let Some(t) = l.topics.get(name) {
                t.reset();
            }
        }
        Ok(())
    }

    fn task_metrics(&self) -> Vec<TaskMetrics> {
        let Ok(local) = self.shared.local.try_lock() else {
            return Vec::new();
        };
        local
            .tasks
            .iter()
            .map(|(id, t)| TaskMetrics {
                id: to_worker_task(id),
                kind: if t.handle.source_stats.is_some() {
                    ConnectorType::Source
                } else {
                    ConnectorType::Sink
                },
                state: if t.handle.ended() {
                    if t.handle.trace().is_some() {
                        State::Failed
                    } else {
                        State::Unassigned
                    }
                } else {
                    State::Running
                },
                source: t.handle.source_stats.clone(),
                sink: t.handle.sink_stats.clone(),
                errors: Arc::clone(&t.handle.error_stats),
                producer: t.handle.producer.as_ref().map(|p| {
                    let s = p.stats();
                    [
                        s.requests.load(Ordering::Relaxed),
                        s.retries.load(Ordering::Relaxed),
                        s.epoch_bumps.load(Ordering::Relaxed),
                    ]
                }),
            })
            .collect()
    }

    async fn create_connector(
        &mut self,
        name: &str,
        config: BTreeMap<String, String>,
        target: TargetState,
    ) -> Result<ConnectorInfo, HerderError> {
        self.shared.read_configs().await?;
        if self.config_of(name).is_ok() {
            return Err(HerderError::AlreadyExists(name.to_string()));
        }
        let mut config = config;
        config.insert("name".into(), name.to_string());
        validate::validate(&self.shared.plugins, &self.shared.worker, name, &config)?;
        let mut records = Vec::new();
        if target != TargetState::Started {
            records.push(self.target(name, target));
        }
        records.push(ConfigRecord::Connector {
            name: name.to_string(),
            properties: Some(config),
        });
        self.write_config(records).await?;
        self.info(name)
    }

    async fn put_config(
        &mut self,
        name: &str,
        config: BTreeMap<String, String>,
    ) -> Result<(bool, ConnectorInfo), HerderError> {
        self.shared.read_configs().await?;
        let created = self.config_of(name).is_err();
        let mut config = config;
        config.insert("name".into(), name.to_string());
        validate::validate(&self.shared.plugins, &self.shared.worker, name, &config)?;
        self.write_config(vec![ConfigRecord::Connector {
            name: name.to_string(),
            properties: Some(config),
        }])
        .await?;
        Ok((created, self.info(name)?))
    }

    async fn delete_connector(&mut self, name: &str) -> Result<(), HerderError> {
        self.shared.read_configs().await?;
        self.config_of(name)?;
        self.write_config(vec![
            ConfigRecord::Connector {
                name: name.to_string(),
                properties: None,
            },
            ConfigRecord::TargetState {
                connector: name.to_string(),
                state: None,
            },
        ])
        .await
    }

    async fn pause_connector(&mut self, name: &str) -> Result<(), HerderError> {
        self.config_of(name)?;
        self.write_config(vec![self.target(name, TargetState::Paused)])
            .await
    }

    async fn resume_connector(&mut self, name: &str) -> Result<(), HerderError> {
        self.config_of(name)?;
        self.write_config(vec![self.target(name, TargetState::Started)])
            .await
    }

    async fn stop_connector(&mut self, name: &str) -> Result<(), HerderError> {
        self.config_of(name)?;
        // KIP-875: a stopped connector has no tasks: an empty set of task configs, then the state.
        self.write_config(vec![
            ConfigRecord::Commit {
                connector: name.to_string(),
                tasks: 0,
            },
            self.target(name, TargetState::Stopped),
        ])
        .await
    }

    async fn restart_connector(
        &mut self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<(), HerderError> {
        self.config_of(name)?;
        self.write_config(vec![ConfigRecord::Restart {
            connector: name.to_string(),
            request: crate::distributed::config_topic::RestartRequest {
                include_tasks,
                only_failed,
            },
        }])
        .await
    }

    async fn restart_task(&mut self, name: &str, n: u32) -> Result<(), HerderError> {
        self.config_of(name)?;
        let id = DTaskId::new(name, n as i32);
        let mut local = self.shared.local.lock().await;
        if !local.assigned_tasks.contains(&id) {
            return Err(HerderError::TaskNotFound(to_worker_task(&id)));
        }
        self.shared.stop_task_here(&mut local, &id).await;
        self.shared.reconcile(&mut local).await;
        Ok(())
    }

    async fn offsets(
        &mut self,
        name: &str,
    ) -> Result<Vec<(serde_json::Value, serde_json::Value)>, HerderError> {
        let config = self.config_of(name)?;
        if self.kind_of(&config) == ConnectorType::Sink {
            return Err(invalid(
                "a sink connector's offsets are not served in distributed mode yet",
            ));
        }
        self.shared.offsets.refresh().await.map_err(invalid)?;
        let mut out = Vec::new();
        for (k, v) in self.shared.offsets.entries() {
            let Ok(serde_json::Value::Array(key)) = serde_json::from_slice::<serde_json::Value>(&k) else {
                continue;
            };
            if key.len() != 2 || key[0].as_str() != Some(name) {
                continue;
            }
            if let Ok(offset) = serde_json::from_slice::<serde_json::Value>(&v) {
                out.push((key[1].clone(), offset));
            }
        }
        Ok(out)
    }

    async fn alter_offsets(
        &mut self,
        _name: &str,
        _entries: Vec<(serde_json::Value, Option<serde_json::Value>)>,
    ) -> Result<(), HerderError> {
        Err(invalid("altering offsets is not served in distributed mode yet"))
    }

    async fn reset_offsets(&mut self, _name: &str) -> Result<(), HerderError> {
        Err(invalid("resetting offsets is not served in distributed mode yet"))
    }
}
