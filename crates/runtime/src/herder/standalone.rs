//! The standalone herder (`connect-standalone`): one process runs every connector, configs come
//! from files or the REST API, source offsets live in `offset.storage.file.filename`.
//!
//! ```text
//!  worker.properties ──standalone_def──▶ StandaloneWorker::start (bootstrap, offsets file)
//!  connector files / REST ──create_connector──▶ validate (plugin, ConfigDef, overrides)
//!        └─ target Started: Connector::start ─▶ task_configs(tasks.max) ─▶ spawn::spawn_task each
//!  pause / stop / resume / restart / put_config / delete ──▶ tasks stopped (offsets flushed by
//!        each loop within task.shutdown.graceful.timeout.ms) and started again as asked
//!  status / info / task_configs ◀── read by REST (passwords hidden)
//! ```
//!
//! Deviation from Connect, documented in the README: a PAUSED connector's tasks are shut down
//! (offsets flushed, a sink's consumer leaves its group) rather than kept idle; they keep their
//! slots and report PAUSED, and `resume` starts them again from the committed offsets.

use super::spawn::{client_props, spawn_task, Instance, TaskContext, TaskHandle};
use super::status::{State, TaskStatus};
use super::validate::{self, Validated};
use super::view::{ConnectorInfo, ConnectorStatus, ConnectorType, StateInfo, TargetState};
use crate::config::providers::ConfigProviders;
use crate::config::{connector, worker, ConfigErrors, Parsed};
use crate::connector::{ConnectError, ConnectorContext, Props};
use crate::plugins::{self, Plugins};
use crate::storage::{OffsetFile, StorageError};
use crate::worker::errors::ErrorStats;
use crate::worker::{ActiveTopics, TaskId};
use kaflow_client::cluster::Cluster;
use kaflow_client::metrics::{ClientSnapshot, Registration, Registry, Source as MetricsSource};
use kaflow_client::ClientConfig;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why a herder request failed; each maps to one REST status code.
#[derive(Debug, thiserror::Error)]
pub enum StandaloneError {
    /// The worker or connector config is invalid (every bad key listed).
    #[error("{what}: {errors}")]
    Config {
        /// Which config.
        what: String,
        /// The problems.
        errors: ConfigErrors,
    },
    /// A single bad setting.
    #[error("{0}")]
    Invalid(String),
    /// The offsets file can't be used.
    #[error(transparent)]
    Offsets(#[from] StorageError),
    /// Kafka can't be reached or refused.
    #[error("Kafka: {0}")]
    Kafka(#[from] kaflow_client::Error),
    /// The connector refused to start.
    #[error("connector {name} failed to start: {error}")]
    Connector {
        /// The connector.
        name: String,
        /// Why.
        error: ConnectError,
    },
    /// No connector has this name.
    #[error("Connector {0} not found")]
    NotFound(String),
    /// The connector has no such task.
    #[error("Task {0} not found")]
    TaskNotFound(TaskId),
    /// A connector with this name exists already.
    #[error("Connector {0} already exists")]
    AlreadyExists(String),
    /// Offsets can only change while the connector is STOPPED (KIP-875).
    #[error(
        "Connectors must be in the STOPPED state before their offsets can be modified. This can be done \
         for the specified connector by issuing a 'PUT' request to the '/connectors/{0}/stop' endpoint"
    )]
    NotStopped(String),
    /// An offsets request the connector type can't take (wrong shape, unsupported reset).
    #[error("{0}")]
    BadOffsets(String),
}

struct NoopContext;

impl ConnectorContext for NoopContext {
    fn request_task_reconfiguration(&self) {
        tracing::info!("task reconfiguration requested (standalone: applied on restart)");
    }
    fn raise_error(&self, error: ConnectError) {
        tracing::error!(%error, "connector raised an error");
    }
}

/// One connector: its config as given, what the operator asked for, and what runs.
struct ConnectorRun {
    config: BTreeMap<String, String>,
    kind: ConnectorType,
    target: TargetState,
    /// The started connector instance (`None` while stopped, or when it failed to start).
    instance: Option<Instance>,
    /// Why the connector itself failed (its status trace).
    failure: Option<String>,
    /// The task configs it generated; their count is the task slots.
    task_configs: Vec<Props>,
    tasks: Vec<TaskHandle>,
    /// Topics its tasks used (KIP-558), kept across task restarts.
    topics: Arc<ActiveTopics>,
    /// Its ConfigDef's PASSWORD keys (their values read `[hidden]`), from the last validation.
    password_keys: Vec<String>,
}

/// One task's counters, as `/metrics` renders them (Connect's `source-task-metrics`,
/// `sink-task-metrics`, `task-error-metrics`, and the producer's request counters).
#[derive(Debug)]
pub struct TaskMetrics {
    /// The task.
    pub id: TaskId,
    /// Its connector's type.
    pub kind: ConnectorType,
    /// Its state.
    pub state: State,
    /// A source task's counters.
    pub source: Option<Arc<crate::worker::source::SourceStats>>,
    /// A sink task's counters.
    pub sink: Option<Arc<crate::worker::sink::SinkStats>>,
    /// Error handling counters.
    pub errors: Arc<ErrorStats>,
    /// A source task's producer: produce requests, retries, epoch bumps.
    pub producer: Option<[u64; 3]>,
}

/// A standalone worker.
pub struct StandaloneWorker {
    worker: Parsed,
    plugins: Plugins,
    providers: ConfigProviders,
    cluster: Arc<Cluster>,
    store: Arc<Mutex<OffsetFile>>,
    connectors: BTreeMap<String, ConnectorRun>,
    worker_id: String,
    /// The live Kafka clients' metrics for `/metrics`: the worker's client core (shared by
    /// every task's clients, so it carries their requests), and each task's producer or
    /// consumer, registered by the task's handle while it lives.
    client_metrics: Arc<Registry>,
    _core_metrics: Registration,
}

impl std::fmt::Debug for StandaloneWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandaloneWorker")
            .field("connectors", &self.connectors.keys())
            .finish_non_exhaustive()
    }
}

impl StandaloneWorker {
    /// Validates the worker properties, connects to Kafka and opens the offsets file.
    pub async fn start(props: BTreeMap<String, String>, plugins: Plugins) -> Result<Self, StandaloneError> {
        let worker = worker::standalone_def()
            .parse(&props)
            .map_err(|errors| StandaloneError::Config {
                what: "worker config".into(),
                errors,
            })?;
        if worker.get("plugin.path") != &crate::config::ConfigValue::Null {
            tracing::warn!("plugin.path is ignored: kaflow's connectors are built in");
        }
        let providers = ConfigProviders::from_worker(&props)
            .map_err(|e| StandaloneError::Invalid(format!("worker config: {e}")))?;
        let path = worker
            .string("offset.storage.file.filename")
            .unwrap_or_default()
            .to_string();
        let store = Arc::new(Mutex::new(OffsetFile::open(&path)?));
        let client = ClientConfig::from_properties(&client_props(&worker, "", &BTreeMap::new()))
            .map_err(|e| StandaloneError::Invalid(e.to_string()))?;
        let client_id = client.client_id.clone();
        let cluster = Cluster::connect(client).await?;
        let client_metrics = Registry::new();
        let core_metrics = client_metrics.register(
            vec![("client_id", client_id)],
            MetricsSource::Network(Arc::clone(cluster.metrics())),
        );
        Ok(Self {
            worker,
            plugins,
            providers,
            cluster,
            store,
            connectors: BTreeMap::new(),
            worker_id: "127.0.0.1:8083".into(),
            client_metrics,
            _core_metrics: core_metrics,
        })
    }

    /// The id this worker reports in statuses (`host:port` of its REST listener).
    pub fn set_worker_id(&mut self, id: String) {
        self.worker_id = id;
    }

    /// The worker's parsed config.
    pub fn worker_config(&self) -> &Parsed {
        &self.worker
    }

    /// The plugins this worker knows.
    pub fn plugins(&self) -> &Plugins {
        &self.plugins
    }

    /// The Kafka cluster the worker talks to.
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }

    /// Starts a connector from a file (the CLI's way): created RUNNING; an error if it can't.
    pub async fn add_connector(&mut self, config: BTreeMap<String, String>) -> Result<(), StandaloneError> {
        let name = config.get("name").cloned().unwrap_or_default();
        self.create_connector(&name, config, TargetState::Started).await?;
        match self.connectors.get(&name).and_then(|r| r.failure.clone()) {
            Some(trace) => Err(StandaloneError::Connector {
                name,
                error: ConnectError::Failed(trace),
            }),
            None => Ok(()),
        }
    }

    /// Checks `config` as Connect does before accepting it (see [`validate::validate`]).
    fn validate(&self, name: &str, config: &BTreeMap<String, String>) -> Result<Validated, StandaloneError> {
        validate::validate(&self.plugins, &self.worker, name, config)
    }

    /// Creates connector `name` in state `target`. A config that doesn't validate is refused;
    /// a connector that fails to start is kept, FAILED with its trace (as Connect does).
    pub async fn create_connector(
        &mut self,
        name: &str,
        config: BTreeMap<String, String>,
        target: TargetState,
    ) -> Result<ConnectorInfo, StandaloneError> {
        if self.connectors.contains_key(name) {
            return Err(StandaloneError::AlreadyExists(name.to_string()));
        }
        let mut config = config;
        config.insert("name".into(), name.to_string());
        let v = self.validate(name, &config)?;
        let run = ConnectorRun {
            config,
            kind: v.kind,
            target,
            instance: None,
            failure: None,
            task_configs: Vec::new(),
            tasks: Vec::new(),
            topics: Arc::default(),
            password_keys: v.password_keys,
        };
        self.connectors.insert(name.to_string(), run);
        // As Connect: a connector created PAUSED is not started and has no tasks until it is
        // resumed (a running connector paused later keeps its tasks, paused).
        if target != TargetState::Paused {
            self.start_run(name, Some(v.instance)).await;
        }
        self.info(name)
    }

    /// Replaces (or creates) connector `name`'s config; returns whether it was created.
    pub async fn put_config(
        &mut self,
        name: &str,
        config: BTreeMap<String, String>,
    ) -> Result<(bool, ConnectorInfo), StandaloneError> {
        if !self.connectors.contains_key(name) {
            return Ok((
                true,
                self.create_connector(name, config, TargetState::Started).await?,
            ));
        }
        let mut config = config;
        config.insert("name".into(), name.to_string());
        let v = self.validate(name, &config)?;
        self.shut_down(name, true).await;
        if let Some(run) = self.connectors.get_mut(name) {
            run.config = config;
            run.kind = v.kind;
            run.password_keys = v.password_keys;
            run.task_configs.clear();
            run.tasks.clear();
        }
        self.start_run(name, Some(v.instance)).await;
        Ok((false, self.info(name)?))
    }

    /// Stops and forgets connector `name` (its source offsets stay, as in Connect).
    pub async fn delete_connector(&mut self, name: &str) -> Result<(), StandaloneError> {
        self.run(name)?;
        self.shut_down(name, true).await;
        self.connectors.remove(name);
        tracing::info!(connector = %name, "connector deleted");
        Ok(())
    }

    /// Pauses connector `name`: its tasks stop moving records (see the module docs).
    pub async fn pause_connector(&mut self, name: &str) -> Result<(), StandaloneError> {
        self.run_mut(name)?.target = TargetState::Paused;
        self.shut_down(name, false).await;
        Ok(())
    }

    /// Stops connector `name` (KIP-875): connector and tasks shut down, no task slots left.
    pub async fn stop_connector(&mut self, name: &str) -> Result<(), StandaloneError> {
        self.run_mut(name)?.target = TargetState::Stopped;
        self.shut_down(name, true).await;
        if let Some(run) = self.connectors.get_mut(name) {
            run.task_configs.clear();
            run.tasks.clear();
        }
        Ok(())
    }

    /// Resumes a paused or stopped connector.
    pub async fn resume_connector(&mut self, name: &str) -> Result<(), StandaloneError> {
        let run = self.run_mut(name)?;
        if run.target == TargetState::Started {
            return Ok(());
        }
        run.target = TargetState::Started;
        self.start_run(name, None).await;
        Ok(())
    }

    /// Restarts connector `name` (KIP-745): the connector itself unless `only_failed` and it
    /// isn't FAILED; with `include_tasks`, its tasks too (only the FAILED ones if `only_failed`).
    pub async fn restart_connector(
        &mut self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<(), StandaloneError> {
        let run = self.run(name)?;
        if run.target != TargetState::Started {
            return Ok(());
        }
        let connector_failed = run.failure.is_some();
        let restart_connector = !only_failed || connector_failed;
        let tasks: Vec<u32> = if !include_tasks {
            Vec::new()
        } else {
            run.tasks
                .iter()
                .filter(|t| !only_failed || (t.ended() && t.trace().is_some()))
                .map(|t| t.id.task)
                .collect()
        };
        if restart_connector && (connector_failed || run.instance.is_none()) {
            // A connector that failed to start has no tasks: start everything again.
            self.shut_down(name, true).await;
            self.start_run(name, None).await;
            return Ok(());
        }
        if restart_connector {
            let run = self.run_mut(name)?;
            if let Some(instance) = run.instance.as_mut() {
                let stopped = match instance {
                    Instance::Source(c) => c.stop().await,
                    Instance::Sink(c) => c.stop().await,
                };
                if let Err(e) = stopped {
                    tracing::warn!(connector = %name, error = %e, "connector stop failed");
                }
            }
            self.start_instance(name).await;
        }
        for n in tasks {
            self.restart_task(name, n).await?;
        }
        Ok(())
    }

    /// Restarts task `n` of connector `name` with the config it was given.
    pub async fn restart_task(&mut self, name: &str, n: u32) -> Result<(), StandaloneError> {
        let id = TaskId {
            connector: name.to_string(),
            task: n,
        };
        let deadline = self.graceful_deadline();
        let run = self.run_mut(name)?;
        let Some(i) = run.tasks.iter().position(|t| t.id.task == n) else {
            return Err(StandaloneError::TaskNotFound(id));
        };
        run.tasks[i].stop_by(deadline).await;
        match self.spawn(name, n).await {
            Ok(handle) => {
                if let Some(run) = self.connectors.get_mut(name) {
                    run.tasks[i] = handle;
                }
            }
            Err(e) => {
                tracing::error!(task = %id, error = %e, "task failed to start");
                if let Some(run) = self.connectors.get_mut(name) {
                    *run.tasks[i].failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
                }
            }
        }
        Ok(())
    }

    /// The connectors' names, sorted.
    pub fn connector_names(&self) -> Vec<String> {
        self.connectors.keys().cloned().collect()
    }

    /// Connector `name`'s config (passwords hidden), tasks and type.
    pub fn info(&self, name: &str) -> Result<ConnectorInfo, StandaloneError> {
        let run = self.run(name)?;
        Ok(ConnectorInfo {
            name: name.to_string(),
            config: self.hidden(run, &run.config),
            tasks: (0..run.task_configs.len() as u32)
                .map(|task| TaskId {
                    connector: name.to_string(),
                    task,
                })
                .collect(),
            kind: run.kind,
        })
    }

    /// Connector `name`'s config as stored (passwords included; never served as is).
    pub fn raw_config(&self, name: &str) -> Result<BTreeMap<String, String>, StandaloneError> {
        Ok(self.run(name)?.config.clone())
    }

    /// Connector `name`'s offsets as `GET /connectors/{name}/offsets` lists them (KIP-875):
    /// a source connector's `(partition, offset)` pairs from the offsets file; a sink
    /// connector's committed offsets of group `connect-<name>` as
    /// `{"kafka_topic","kafka_partition"}` / `{"kafka_offset"}`.
    pub async fn offsets(
        &mut self,
        name: &str,
    ) -> Result<Vec<(serde_json::Value, serde_json::Value)>, StandaloneError> {
        use serde_json::{json, Value};
        let run = self.run(name)?;
        if run.kind == ConnectorType::Source {
            let store = self.store.lock().unwrap_or_else(|e| e.into_inner());
            let mut out = Vec::new();
            for (k, v) in store.entries() {
                // Keys are ["<connector>", {partition}] (Connect's OffsetStorageWriter).
                let Ok(Value::Array(key)) = serde_json::from_slice::<Value>(k) else {
                    continue;
                };
                if key.first().and_then(Value::as_str) != Some(name) || key.len() != 2 {
                    continue;
                }
                let offset = serde_json::from_slice::<Value>(v).unwrap_or(Value::Null);
                if !offset.is_null() {
                    out.push((key[1].clone(), offset));
                }
            }
            return Ok(out);
        }
        let group = sink_group(name, &run.config);
        let md = self.cluster.metadata();
        let topics: Vec<String> = match run.config.get("topics").filter(|t| !t.trim().is_empty()) {
            Some(list) => list
                .split(',')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
            None => {
                let re = regex::Regex::new(&format!(
                    "^(?:{})$",
                    run.config.get("topics.regex").cloned().unwrap_or_default()
                ))
                .map_err(|e| StandaloneError::Invalid(format!("topics.regex: {e}")))?;
                md.topics.keys().filter(|t| re.is_match(t)).cloned().collect()
            }
        };
        let partitions: Vec<kaflow_client::group::TopicPartition> = topics
            .iter()
            .flat_map(|t| {
                (0..md.partition_count(t).unwrap_or(0)).map(move |p| kaflow_client::group::TopicPartition {
                    topic: t.clone(),
                    partition: p,
                })
            })
            .collect();
        let committed = kaflow_client::group::fetch_committed(
            &self.cluster,
            &group,
            &partitions,
            Duration::from_secs(30),
        )
        .await?;
        Ok(committed
            .into_iter()
            .filter_map(|(tp, o)| {
                o.map(|o| {
                    (
                        json!({"kafka_topic": tp.topic, "kafka_partition": tp.partition}),
                        json!({"kafka_offset": o.offset}),
                    )
                })
            })
            .collect())
    }

    /// Alters connector `name`'s offsets (KIP-875; the connector must be STOPPED): each
    /// `(partition, offset)` is written, a `None` offset removes the partition's. Source offsets
    /// go to the offsets file; a sink's are committed for group `connect-<name>`, and a sink
    /// partition with a `None` offset has its committed offset deleted (OffsetDelete), as
    /// Connect's `alterSinkConnectorOffsets` does.
    pub async fn alter_offsets(
        &mut self,
        name: &str,
        entries: Vec<(serde_json::Value, Option<serde_json::Value>)>,
    ) -> Result<(), StandaloneError> {
        use crate::storage::offset_codec;
        let run = self.run(name)?;
        if run.target != TargetState::Stopped {
            return Err(StandaloneError::NotStopped(name.to_string()));
        }
        let as_map = |what: &str, v: &serde_json::Value| {
            if !v.is_object() {
                return Err(StandaloneError::BadOffsets(format!(
                    "The {what} must be a JSON object, got {v}"
                )));
            }
            offset_codec::parse_value(&serde_json::to_vec(v).unwrap_or_default())
                .ok_or_else(|| StandaloneError::BadOffsets(format!("The {what} {v} is not a JSON object")))
        };
        if run.kind == ConnectorType::Source {
            let mut batch = Vec::new();
            for (partition, offset) in &entries {
                let key = offset_codec::key(name, &as_map("source partition", partition)?).to_vec();
                let value = match offset {
                    Some(o) => Some(offset_codec::value(&as_map("source offset", o)?).to_vec()),
                    None => None,
                };
                batch.push((key, value));
            }
            let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
            store.put_all(batch)?;
            return Ok(());
        }
        let group = sink_group(name, &run.config);
        let mut commits = BTreeMap::new();
        let mut deletes = Vec::new();
        for (partition, offset) in &entries {
            let topic = partition.get("kafka_topic").and_then(serde_json::Value::as_str);
            let part = partition
                .get("kafka_partition")
                .and_then(serde_json::Value::as_i64);
            let (Some(topic), Some(part)) = (topic, part) else {
                return Err(StandaloneError::BadOffsets(format!(
                    "A sink connector's partition must be {{\"kafka_topic\": string, \"kafka_partition\": int}}, got {partition}"
                )));
            };
            let tp = kaflow_client::group::TopicPartition {
                topic: topic.to_string(),
                partition: part as i32,
            };
            let Some(offset) = offset else {
                deletes.push(tp);
                continue;
            };
            let o = offset
                .get("kafka_offset")
                .and_then(serde_json::Value::as_i64)
                .filter(|o| *o >= 0)
                .ok_or_else(|| {
                    StandaloneError::BadOffsets(format!(
                        "A sink connector's offset must be {{\"kafka_offset\": non-negative int}}, got {offset}"
                    ))
                })?;
            commits.insert(tp, kaflow_client::group::OffsetAndMetadata::new(o));
        }
        kaflow_client::group::delete_offsets(&self.cluster, &group, &deletes, Duration::from_secs(30))
            .await?;
        let coordinator = kaflow_client::group::Coordinator::new(Arc::clone(&self.cluster), &group);
        kaflow_client::group::offsets::commit(
            &coordinator,
            &kaflow_client::group::CommitAs::none(),
            &commits,
            Duration::from_secs(30),
        )
        .await?;
        Ok(())
    }

    /// Resets connector `name`'s offsets (KIP-875; the connector must be STOPPED): a source's
    /// are removed from the offsets file; a sink's consumer group is deleted (DeleteGroups), as
    /// Connect's `resetSinkConnectorOffsets` does; a group already gone is a success.
    pub async fn reset_offsets(&mut self, name: &str) -> Result<(), StandaloneError> {
        let run = self.run(name)?;
        if run.target != TargetState::Stopped {
            return Err(StandaloneError::NotStopped(name.to_string()));
        }
        if run.kind == ConnectorType::Sink {
            let group = sink_group(name, &run.config);
            kaflow_client::group::delete_group(&self.cluster, &group, Duration::from_secs(30)).await?;
            return Ok(());
        }
        let entries: Vec<(serde_json::Value, Option<serde_json::Value>)> = self
            .offsets(name)
            .await?
            .into_iter()
            .map(|(p, _)| (p, None))
            .collect();
        self.alter_offsets(name, entries).await
    }

    /// The topics connector `name`'s tasks have used since the last reset (KIP-558).
    pub fn active_topics(&self, name: &str) -> Result<Vec<String>, StandaloneError> {
        Ok(self.run(name)?.topics.topics())
    }

    /// Forgets connector `name`'s active topics (KIP-558).
    pub fn reset_active_topics(&self, name: &str) -> Result<(), StandaloneError> {
        self.run(name)?.topics.reset();
        Ok(())
    }

    /// Each task's config (passwords hidden), by task number.
    pub fn task_configs(&self, name: &str) -> Result<Vec<(TaskId, Props)>, StandaloneError> {
        let run = self.run(name)?;
        Ok(run
            .task_configs
            .iter()
            .enumerate()
            .map(|(n, c)| {
                let id = TaskId {
                    connector: name.to_string(),
                    task: n as u32,
                };
                (id, self.hidden(run, c))
            })
            .collect())
    }

    /// The version of `run`'s connector plugin.
    fn plugin_version(&self, run: &ConnectorRun) -> Option<String> {
        let class = run.config.get("connector.class")?;
        self.plugins
            .connector(class)
            .ok()
            .map(|(info, _)| info.version.clone())
    }

    /// Connector `name`'s state and each task's.
    pub fn status(&self, name: &str) -> Result<ConnectorStatus, StandaloneError> {
        let run = self.run(name)?;
        let version = self.plugin_version(run);
        let line = |state, trace| StateInfo {
            state,
            worker_id: self.worker_id.clone(),
            trace,
            version: version.clone(),
        };
        let connector = match (run.target, &run.failure) {
            (_, Some(trace)) => line(State::Failed, Some(trace.clone())),
            (TargetState::Started, None) => line(State::Running, None),
            (TargetState::Paused, None) => line(State::Paused, None),
            (TargetState::Stopped, None) => line(State::Stopped, None),
        };
        let tasks = (0..run.task_configs.len() as u32)
            .map(|n| {
                let info = match run.tasks.iter().find(|t| t.id.task == n) {
                    _ if run.target == TargetState::Paused => line(State::Paused, None),
                    Some(t) => StateInfo {
                        version: version.clone(),
                        ..task_state(t, &self.worker_id)
                    },
                    None => line(State::Unassigned, None),
                };
                (n, info)
            })
            .collect();
        Ok(ConnectorStatus {
            name: name.to_string(),
            connector,
            tasks,
            kind: run.kind,
        })
    }

    /// Each task's status: RUNNING, or FAILED with the error it ended with as its trace.
    pub fn task_statuses(&self) -> BTreeMap<TaskId, TaskStatus> {
        self.connectors
            .values()
            .flat_map(|run| run.tasks.iter())
            .map(|t| {
                let s = task_state(t, &self.worker_id);
                (
                    t.id.clone(),
                    TaskStatus {
                        state: s.state,
                        trace: s.trace,
                    },
                )
            })
            .collect()
    }

    /// Every task's counters and state, for `/metrics`.
    pub fn task_metrics(&self) -> Vec<TaskMetrics> {
        self.connectors
            .values()
            .flat_map(|run| run.tasks.iter().map(move |t| (run, t)))
            .map(|(run, t)| TaskMetrics {
                id: t.id.clone(),
                kind: run.kind,
                state: if run.target == TargetState::Paused {
                    State::Paused
                } else {
                    task_state(t, &self.worker_id).state
                },
                source: t.source_stats.clone(),
                sink: t.sink_stats.clone(),
                errors: Arc::clone(&t.error_stats),
                producer: t.producer.as_ref().map(|p| {
                    use std::sync::atomic::Ordering::Relaxed;
                    let s = p.stats();
                    [
                        s.requests.load(Relaxed),
                        s.retries.load(Relaxed),
                        s.epoch_bumps.load(Relaxed),
                    ]
                }),
            })
            .collect()
    }

    /// The live Kafka clients' metrics (request rate and latency per API, producer batching
    /// and buffer use, consumer lag), for `/metrics`.
    pub fn client_metrics(&self) -> Vec<ClientSnapshot> {
        self.client_metrics.snapshot()
    }

    /// Each task's error-handling counters (Connect's `task-error-metrics`).
    pub fn task_error_stats(&self) -> BTreeMap<TaskId, Arc<ErrorStats>> {
        self.connectors
            .values()
            .flat_map(|run| run.tasks.iter())
            .map(|t| (t.id.clone(), Arc::clone(&t.error_stats)))
            .collect()
    }

    /// One line per task: records moved so far (for the progress display).
    pub fn progress(&self) -> Vec<String> {
        use std::sync::atomic::Ordering::Relaxed;
        let mut out = Vec::new();
        for t in self.connectors.values().flat_map(|run| run.tasks.iter()) {
            if let Some(s) = &t.source_stats {
                out.push(format!(
                    "{}: polled {} written {} skipped {} offset commits {}",
                    t.id,
                    s.polled.load(Relaxed),
                    s.written.load(Relaxed),
                    s.skipped.load(Relaxed),
                    s.offset_commits.load(Relaxed)
                ));
            }
            if let Some(s) = &t.sink_stats {
                out.push(format!(
                    "{}: put {} skipped {} offset commits {}",
                    t.id,
                    s.put.load(Relaxed),
                    s.skipped.load(Relaxed),
                    s.offset_commits.load(Relaxed)
                ));
            }
        }
        out
    }

    /// Collects the tasks that ended since the last call (they keep their slot and status);
    /// returns each with how it ended.
    pub async fn reap_ended_tasks(&mut self) -> Vec<(TaskId, Result<(), ConnectError>)> {
        let mut out = Vec::new();
        for t in self.connectors.values_mut().flat_map(|run| run.tasks.iter_mut()) {
            if t.join.as_ref().is_some_and(|j| j.is_finished()) {
                if let Some(join) = t.join.take() {
                    let r = join
                        .await
                        .unwrap_or_else(|e| Err(ConnectError::Failed(format!("task panicked: {e}"))));
                    if let Err(e) = &r {
                        t.failure
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .get_or_insert_with(|| e.to_string());
                    }
                    out.push((t.id.clone(), r));
                }
            }
        }
        out
    }

    /// Stops every task (offsets flushed by each) within `task.shutdown.graceful.timeout.ms`,
    /// then every connector.
    pub async fn stop(&mut self) {
        let deadline = self.graceful_deadline();
        for t in self.connectors.values().flat_map(|run| run.tasks.iter()) {
            let _ = t.stop.send(true);
        }
        let names = self.connector_names();
        for name in names {
            if let Some(run) = self.connectors.get_mut(&name) {
                for t in &mut run.tasks {
                    t.stop_by(deadline).await;
                }
            }
            self.shut_down(&name, true).await;
        }
        self.connectors.clear();
    }

    // ---- internals ---------------------------------------------------------------------------

    fn run(&self, name: &str) -> Result<&ConnectorRun, StandaloneError> {
        self.connectors
            .get(name)
            .ok_or_else(|| StandaloneError::NotFound(name.to_string()))
    }

    fn run_mut(&mut self, name: &str) -> Result<&mut ConnectorRun, StandaloneError> {
        self.connectors
            .get_mut(name)
            .ok_or_else(|| StandaloneError::NotFound(name.to_string()))
    }

    fn graceful_deadline(&self) -> tokio::time::Instant {
        let limit = self
            .worker
            .long("task.shutdown.graceful.timeout.ms")
            .unwrap_or(5000);
        tokio::time::Instant::now() + Duration::from_millis(limit as u64)
    }

    /// `config` with the values of the connector's PASSWORD keys and client secrets replaced by
    /// `[hidden]`.
    fn hidden(&self, run: &ConnectorRun, config: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        config
            .iter()
            .map(|(k, v)| {
                if run.password_keys.contains(k) || connector::is_client_secret(k) {
                    (k.clone(), "[hidden]".to_string())
                } else {
                    (k.clone(), v.clone())
                }
            })
            .collect()
    }

    /// The connector's config with config-provider references resolved (never stored).
    fn resolved(&self, name: &str) -> Result<BTreeMap<String, String>, StandaloneError> {
        let run = self.run(name)?;
        self.providers
            .resolve(&run.config)
            .map_err(|e| StandaloneError::Invalid(format!("connector {name}: {e}")))
    }

    /// Stops the tasks of `name` (and, with `instance`, the connector itself).
    async fn shut_down(&mut self, name: &str, instance: bool) {
        let deadline = self.graceful_deadline();
        let Some(run) = self.connectors.get_mut(name) else {
            return;
        };
        for t in &run.tasks {
            let _ = t.stop.send(true);
        }
        for t in &mut run.tasks {
            t.stop_by(deadline).await;
        }
        if instance {
            if let Some(mut inst) = run.instance.take() {
                let stopped = match &mut inst {
                    Instance::Source(c) => c.stop().await,
                    Instance::Sink(c) => c.stop().await,
                };
                if let Err(e) = stopped {
                    tracing::warn!(connector = %name, error = %e, "connector stop failed");
                }
            }
        }
    }

    /// Brings `name` to its target state: starts the connector (with `fresh`, or a new
    /// instance) unless stopped, and its tasks when started. Failures land in its status.
    async fn start_run(&mut self, name: &str, fresh: Option<Instance>) {
        let Some(run) = self.connectors.get_mut(name) else {
            return;
        };
        run.failure = None;
        if run.target == TargetState::Stopped {
            return;
        }
        if run.instance.is_none() {
            run.instance = fresh;
            if !self.start_instance(name).await {
                return;
            }
        }
        let Some(run) = self.connectors.get_mut(name) else {
            return;
        };
        if run.target != TargetState::Started {
            return;
        }
        run.tasks.clear();
        for n in 0..run.task_configs.len() as u32 {
            match self.spawn(name, n).await {
                Ok(handle) => {
                    if let Some(run) = self.connectors.get_mut(name) {
                        run.tasks.push(handle);
                    }
                }
                Err(e) => {
                    tracing::error!(connector = %name, task = n, error = %e, "task failed to start");
                    self.fail(name, e.to_string());
                    return;
                }
            }
        }
        tracing::info!(connector = %name, tasks = self.connectors.get(name).map_or(0, |r| r.tasks.len()), "connector started");
    }

    /// Starts the connector instance (creating one if needed) and asks it for task configs;
    /// false (and FAILED) if it can't.
    async fn start_instance(&mut self, name: &str) -> bool {
        let config = match self.resolved(name) {
            Ok(c) => c,
            Err(e) => {
                self.fail(name, e.to_string());
                return false;
            }
        };
        // A connector restarted in place keeps its instance; otherwise a new one.
        let fresh = match self.run(name).map(|r| r.instance.is_none()) {
            Ok(true) => {
                let stored = self.run(name).map(|r| r.config.clone()).unwrap_or_default();
                match self.validate(name, &stored) {
                    Ok(v) => Some(v.instance),
                    Err(e) => {
                        self.fail(name, e.to_string());
                        return false;
                    }
                }
            }
            _ => None,
        };
        let max_tasks = config
            .get("tasks.max")
            .and_then(|t| t.trim().parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        let task_class = config
            .get("connector.class")
            .and_then(|c| self.plugins.connector(c).ok())
            .map(|(info, _)| plugins::task_class(&info.class));
        let Some(run) = self.connectors.get_mut(name) else {
            return false;
        };
        if let Some(fresh) = fresh {
            run.instance = Some(fresh);
        }
        let Some(instance) = run.instance.as_mut() else {
            return false;
        };
        let ctx: Arc<dyn ConnectorContext> = Arc::new(NoopContext);
        let started = match instance {
            Instance::Source(c) => match c.start(config, ctx).await {
                Ok(()) => c.task_configs(max_tasks).await,
                Err(e) => Err(e),
            },
            Instance::Sink(c) => match c.start(config, ctx).await {
                Ok(()) => c.task_configs(max_tasks).await,
                Err(e) => Err(e),
            },
        };
        match started {
            Ok(mut configs) => {
                configs.truncate(max_tasks);
                // As Connect's Worker adds it to every task config.
                if let Some(t) = &task_class {
                    for c in &mut configs {
                        c.insert("task.class".into(), t.clone());
                    }
                }
                run.task_configs = configs;
                true
            }
            Err(e) => {
                run.instance = None;
                let trace = format!("connector {name} failed to start: {e}");
                tracing::error!(connector = %name, error = %e, "connector failed to start");
                self.fail(name, trace);
                false
            }
        }
    }

    fn fail(&mut self, name: &str, trace: String) {
        if let Some(run) = self.connectors.get_mut(name) {
            run.failure = Some(trace);
        }
    }

    async fn spawn(&mut self, name: &str, n: u32) -> Result<TaskHandle, StandaloneError> {
        let run = self.run(name)?;
        let config = self.resolved(name)?;
        // Checked again resolved, as Connect validates the config a task is started with.
        let v = self.validate(name, &config)?;
        let task_props = run.task_configs.get(n as usize).cloned().ok_or_else(|| {
            StandaloneError::TaskNotFound(TaskId {
                connector: name.to_string(),
                task: n,
            })
        })?;
        let task = run.instance.as_ref().unwrap_or(&v.instance).create_task();
        let cx = TaskContext {
            worker: &self.worker,
            cluster: &self.cluster,
            store: Arc::clone(&self.store) as Arc<dyn crate::worker::OffsetStore>,
            config: &config,
            parsed: &v.parsed,
            topics: &run.topics,
            metrics: &self.client_metrics,
        };
        let id = TaskId {
            connector: name.to_string(),
            task: n,
        };
        spawn_task(&cx, task, id, task_props).await
    }
}

/// A sink connector's consumer group: `connect-<name>` unless overridden.
fn sink_group(name: &str, config: &BTreeMap<String, String>) -> String {
    config
        .get("consumer.override.group.id")
        .cloned()
        .unwrap_or_else(|| format!("connect-{name}"))
}

fn task_state(t: &TaskHandle, worker_id: &str) -> StateInfo {
    let trace = t.trace();
    let state = if trace.is_some() {
        State::Failed
    } else if t.ended() {
        // A loop that returned without an error was told to stop.
        State::Unassigned
    } else {
        State::Running
    };
    StateInfo {
        state,
        worker_id: worker_id.to_string(),
        trace,
        version: None,
    }
}

#[async_trait::async_trait]
impl super::api::Herder for StandaloneWorker {
    fn worker_config(&self) -> &Parsed {
        StandaloneWorker::worker_config(self)
    }
    fn plugins(&self) -> &Plugins {
        StandaloneWorker::plugins(self)
    }
    fn cluster(&self) -> &Arc<Cluster> {
        StandaloneWorker::cluster(self)
    }
    fn connector_names(&self) -> Vec<String> {
        StandaloneWorker::connector_names(self)
    }
    fn info(&self, name: &str) -> Result<ConnectorInfo, StandaloneError> {
        StandaloneWorker::info(self, name)
    }
    fn raw_config(&self, name: &str) -> Result<BTreeMap<String, String>, StandaloneError> {
        StandaloneWorker::raw_config(self, name)
    }
    fn status(&self, name: &str) -> Result<ConnectorStatus, StandaloneError> {
        StandaloneWorker::status(self, name)
    }
    fn task_configs(&self, name: &str) -> Result<Vec<(TaskId, Props)>, StandaloneError> {
        StandaloneWorker::task_configs(self, name)
    }
    fn active_topics(&self, name: &str) -> Result<Vec<String>, StandaloneError> {
        StandaloneWorker::active_topics(self, name)
    }
    fn reset_active_topics(&self, name: &str) -> Result<(), StandaloneError> {
        StandaloneWorker::reset_active_topics(self, name)
    }
    fn task_metrics(&self) -> Vec<TaskMetrics> {
        StandaloneWorker::task_metrics(self)
    }
    fn client_metrics(&self) -> Vec<kaflow_client::metrics::ClientSnapshot> {
        StandaloneWorker::client_metrics(self)
    }
    async fn create_connector(
        &mut self,
        name: &str,
        config: BTreeMap<String, String>,
        target: TargetState,
    ) -> Result<ConnectorInfo, StandaloneError> {
        StandaloneWorker::create_connector(self, name, config, target).await
    }
    async fn put_config(
        &mut self,
        name: &str,
        config: BTreeMap<String, String>,
    ) -> Result<(bool, ConnectorInfo), StandaloneError> {
        StandaloneWorker::put_config(self, name, config).await
    }
    async fn delete_connector(&mut self, name: &str) -> Result<(), StandaloneError> {
        StandaloneWorker::delete_connector(self, name).await
    }
    async fn pause_connector(&mut self, name: &str) -> Result<(), StandaloneError> {
        StandaloneWorker::pause_connector(self, name).await
    }
    async fn resume_connector(&mut self, name: &str) -> Result<(), StandaloneError> {
        StandaloneWorker::resume_connector(self, name).await
    }
    async fn stop_connector(&mut self, name: &str) -> Result<(), StandaloneError> {
        StandaloneWorker::stop_connector(self, name).await
    }
    async fn restart_connector(
        &mut self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<(), StandaloneError> {
        StandaloneWorker::restart_connector(self, name, include_tasks, only_failed).await
    }
    async fn restart_task(&mut self, name: &str, n: u32) -> Result<(), StandaloneError> {
        StandaloneWorker::restart_task(self, name, n).await
    }
    async fn offsets(
        &mut self,
        name: &str,
    ) -> Result<Vec<(serde_json::Value, serde_json::Value)>, StandaloneError> {
        StandaloneWorker::offsets(self, name).await
    }
    async fn alter_offsets(
        &mut self,
        name: &str,
        entries: Vec<(serde_json::Value, Option<serde_json::Value>)>,
    ) -> Result<(), StandaloneError> {
        StandaloneWorker::alter_offsets(self, name, entries).await
    }
    async fn reset_offsets(&mut self, name: &str) -> Result<(), StandaloneError> {
        StandaloneWorker::reset_offsets(self, name).await
    }
}
