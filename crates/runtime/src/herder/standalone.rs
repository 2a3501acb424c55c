//! The standalone worker (`connect-standalone`): one process, connectors from files, source
//! offsets in `offset.storage.file.filename`.
//!
//! ```text
//!  worker.properties ──standalone_def──▶ StandaloneWorker::start (bootstrap, offsets file)
//!  connector files ──add_connector──▶ plugin lookup ─▶ Connector::start ─▶ task_configs(tasks.max)
//!        └─ per task: converters + transforms + (producer | consumer group connect-<name>)
//!           ─▶ worker::source / worker::sink loop on its own tokio task
//!  stop() ─▶ every task told to stop ─▶ waits task.shutdown.graceful.timeout.ms in total
//!        ─▶ offsets flushed by each loop ─▶ Connector::stop
//! ```

use super::status::{State, TaskStatus};
use crate::config::{connector, worker, ConfigErrors, Parsed};
use crate::connector::{ConnectError, ConnectorContext, Props};
use crate::convert::{self, ConverterType};
use crate::data::{SinkRecord, SourceRecord};
use crate::plugins::{ConnectorFactory, Plugins};
use crate::storage::{OffsetFile, StorageError};
use crate::transforms::{TransformChain, TransformRegistry};
use crate::worker::errors::{DeadLetterQueue, DlqConfig, ErrorHandler, ErrorStats, ErrorsConfig};
use crate::worker::sink::{run_sink_task, SinkLoopConfig, SinkStats};
use crate::worker::source::{run_source_task, SourceLoopConfig, SourceStats};
use crate::worker::{Converters, Identity, OffsetStore, RecordTransform, TaskId};
use kaflow_client::admin::Admin;
use kaflow_client::cluster::Cluster;
use kaflow_client::consumer::{ConsumerConfig, GroupConsumer};
use kaflow_client::group::GroupConfig;
use kaflow_client::producer::{Producer, ProducerConfig};
use kaflow_client::{ClientConfig, Properties};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Why the worker or a connector couldn't start.
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
}

struct TaskHandle {
    id: TaskId,
    stop: watch::Sender<bool>,
    join: JoinHandle<Result<(), ConnectError>>,
    source_stats: Option<Arc<SourceStats>>,
    sink_stats: Option<Arc<SinkStats>>,
    error_stats: Arc<ErrorStats>,
    /// The error a failed task ended with (its status trace).
    failure: Arc<Mutex<Option<String>>>,
}

enum Instance {
    Source(Box<dyn crate::connector::SourceConnector>),
    Sink(Box<dyn crate::connector::SinkConnector>),
}

struct ConnectorRun {
    instance: Instance,
    tasks: Vec<TaskHandle>,
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

/// A standalone worker.
pub struct StandaloneWorker {
    worker: Parsed,
    plugins: Plugins,
    cluster: Arc<Cluster>,
    store: Arc<Mutex<OffsetFile>>,
    connectors: BTreeMap<String, ConnectorRun>,
}

impl std::fmt::Debug for StandaloneWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandaloneWorker")
            .field("connectors", &self.connectors.keys())
            .finish_non_exhaustive()
    }
}

fn client_props(worker: &Parsed, prefix: &str, overrides: &BTreeMap<String, String>) -> Properties {
    let mut p = Properties::new().with("bootstrap.servers", worker.list("bootstrap.servers").join(","));
    for (k, v) in worker.with_prefix(prefix) {
        p.set(&k, v);
    }
    for (k, v) in overrides {
        p.set(k, v);
    }
    p
}

fn converter_for(
    worker: &Parsed,
    conn: &BTreeMap<String, String>,
    key: &str,
    ty: ConverterType,
) -> Result<Box<dyn convert::Converter>, StandaloneError> {
    let class = conn
        .get(key)
        .cloned()
        .or_else(|| worker.string(key).map(str::to_string))
        .unwrap_or_default();
    let mut sub: BTreeMap<String, String> = worker.with_prefix(&format!("{key}."));
    if conn.contains_key(key) {
        // A connector-level converter takes only the connector's sub-keys, as Connect.
        sub = conn
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(&format!("{key}."))
                    .map(|r| (r.to_string(), v.clone()))
            })
            .collect();
    }
    sub.insert(convert::CONVERTER_TYPE_CONFIG.to_string(), ty.name().to_string());
    let mut c = convert::lookup(&class).map_err(|e| StandaloneError::Invalid(format!("{key}: {e}")))?;
    c.configure(&sub, ty == ConverterType::Key)
        .map_err(|e| StandaloneError::Invalid(format!("{key}: {e}")))?;
    Ok(c)
}

fn converters(worker: &Parsed, conn: &BTreeMap<String, String>) -> Result<Converters, StandaloneError> {
    let key = converter_for(worker, conn, "key.converter", ConverterType::Key)?;
    let value = converter_for(worker, conn, "value.converter", ConverterType::Value)?;
    let hclass = conn
        .get("header.converter")
        .cloned()
        .or_else(|| worker.string("header.converter").map(str::to_string));
    let hprops = worker.with_prefix("header.converter.");
    let header = convert::header_converter(hclass.as_deref(), &hprops)
        .map_err(|e| StandaloneError::Invalid(format!("header.converter: {e}")))?;
    Ok(Converters { key, value, header })
}

fn transforms<R: crate::data::Record>(
    conn: &BTreeMap<String, String>,
) -> Result<Box<dyn RecordTransform<R>>, StandaloneError> {
    let chain = TransformChain::<R>::from_config(conn, &TransformRegistry::builtin())
        .map_err(|e| StandaloneError::Invalid(e.to_string()))?;
    if chain.is_empty() {
        return Ok(Box::new(Identity));
    }
    Ok(Box::new(chain))
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
        let path = worker
            .string("offset.storage.file.filename")
            .unwrap_or_default()
            .to_string();
        let store = Arc::new(Mutex::new(OffsetFile::open(&path)?));
        let client = ClientConfig::from_properties(&client_props(&worker, "", &BTreeMap::new()))
            .map_err(|e| StandaloneError::Invalid(e.to_string()))?;
        let cluster = Cluster::connect(client).await?;
        Ok(Self {
            worker,
            plugins,
            cluster,
            store,
            connectors: BTreeMap::new(),
        })
    }

    /// Starts a connector and its tasks.
    pub async fn add_connector(&mut self, config: BTreeMap<String, String>) -> Result<(), StandaloneError> {
        let name = config.get("name").cloned().unwrap_or_default();
        let class = config.get("connector.class").cloned().unwrap_or_default();
        let (_, factory) = self
            .plugins
            .connector(&class)
            .map_err(|e| StandaloneError::Invalid(e.to_string()))?;
        let (def, instance) = match factory {
            ConnectorFactory::Source(make) => (connector::source_def(), Instance::Source(make())),
            ConnectorFactory::Sink(make) => (connector::sink_def(), Instance::Sink(make())),
        };
        let own = match &instance {
            Instance::Source(c) => c.config(),
            Instance::Sink(c) => c.config(),
        };
        let parsed = def
            .merge(&own)
            .parse(&config)
            .map_err(|errors| StandaloneError::Config {
                what: format!("connector {name}"),
                errors,
            })?;
        if matches!(instance, Instance::Sink(_)) {
            connector::check_sink(&parsed).map_err(|e| StandaloneError::Config {
                what: format!("connector {name}"),
                errors: ConfigErrors(vec![e]),
            })?;
        }
        let policy = self
            .worker
            .string("connector.client.config.override.policy")
            .unwrap_or("All");
        connector::check_client_overrides(policy, &config).map_err(|errors| StandaloneError::Config {
            what: format!("connector {name}"),
            errors,
        })?;
        let max_tasks = parsed.long("tasks.max").unwrap_or(1).max(1) as usize;
        let errors_cfg = ErrorsConfig::from_parsed(&parsed);
        let ctx: Arc<dyn ConnectorContext> = Arc::new(NoopContext);
        let mut instance = instance;
        let task_configs = match &mut instance {
            Instance::Source(c) => {
                c.start(config.clone(), ctx)
                    .await
                    .map_err(|error| StandaloneError::Connector {
                        name: name.clone(),
                        error,
                    })?;
                c.task_configs(max_tasks).await
            }
            Instance::Sink(c) => {
                c.start(config.clone(), ctx)
                    .await
                    .map_err(|error| StandaloneError::Connector {
                        name: name.clone(),
                        error,
                    })?;
                c.task_configs(max_tasks).await
            }
        }
        .map_err(|error| StandaloneError::Connector {
            name: name.clone(),
            error,
        })?;
        let flush_interval =
            Duration::from_millis(self.worker.long("offset.flush.interval.ms").unwrap_or(60_000) as u64);
        let flush_timeout =
            Duration::from_millis(self.worker.long("offset.flush.timeout.ms").unwrap_or(5000) as u64);
        let mut tasks = Vec::new();
        for (n, task_props) in task_configs.into_iter().take(max_tasks).enumerate() {
            let id = TaskId {
                connector: name.clone(),
                task: n as u32,
            };
            let conv = converters(&self.worker, &config)?;
            let (stop, stop_rx) = watch::channel(false);
            let failure: Arc<Mutex<Option<String>>> = Arc::default();
            let handle = match &instance {
                Instance::Source(c) => {
                    let overrides: BTreeMap<String, String> = prefixed(&config, "producer.override.");
                    let pcfg =
                        ProducerConfig::from_properties(&client_props(&self.worker, "producer.", &overrides))
                            .map_err(|e| StandaloneError::Invalid(e.to_string()))?;
                    let producer = Arc::new(Producer::with_cluster(Arc::clone(&self.cluster), pcfg).await?);
                    let stats = Arc::new(SourceStats::default());
                    let store: Arc<dyn OffsetStore> = Arc::clone(&self.store) as Arc<dyn OffsetStore>;
                    let cfg = SourceLoopConfig {
                        flush_interval,
                        flush_timeout,
                    };
                    let errors = ErrorHandler::new(id.clone(), errors_cfg.clone(), None);
                    let error_stats = Arc::clone(errors.stats());
                    let task = c.create_task();
                    let fut = run_source_task(
                        id.clone(),
                        task,
                        task_props,
                        transforms::<SourceRecord>(&config)?,
                        conv,
                        Arc::clone(&producer),
                        store,
                        cfg,
                        errors,
                        Arc::clone(&stats),
                        stop_rx,
                    );
                    let join = tokio::spawn(record_failure(Arc::clone(&failure), async move {
                        let r = fut.await;
                        producer.close().await;
                        r
                    }));
                    TaskHandle {
                        id: id.clone(),
                        stop,
                        join,
                        source_stats: Some(stats),
                        sink_stats: None,
                        error_stats,
                        failure,
                    }
                }
                Instance::Sink(c) => {
                    let mut overrides: BTreeMap<String, String> = prefixed(&config, "consumer.override.");
                    overrides
                        .entry("group.id".into())
                        .or_insert_with(|| format!("connect-{name}"));
                    overrides
                        .entry("auto.offset.reset".into())
                        .or_insert_with(|| "earliest".into());
                    let props = client_props(&self.worker, "consumer.", &overrides);
                    let ccfg = ConsumerConfig::from_properties(&props)
                        .map_err(|e| StandaloneError::Invalid(e.to_string()))?;
                    let gcfg = GroupConfig::from_properties(&props)
                        .map_err(|e| StandaloneError::Invalid(e.to_string()))?;
                    let topics: Vec<String> = parsed.list("topics").to_vec();
                    let consumer = if topics.is_empty() {
                        // topics.regex (check_sink made sure exactly one of the two is set).
                        let pattern = parsed.string("topics.regex").unwrap_or_default();
                        GroupConsumer::with_cluster_pattern(
                            Arc::clone(&self.cluster),
                            ccfg,
                            gcfg,
                            None,
                            pattern,
                        )
                        .await
                        .map_err(|e| {
                            StandaloneError::Invalid(format!("connector {name}: topics.regex: {e}"))
                        })?
                    } else {
                        let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();
                        // The group's leader assigns what metadata shows at join time; like the
                        // Java consumer (allow.auto.create.topics), a metadata request creates
                        // missing topics where the broker allows it, and we wait for their leaders.
                        for t in &topic_refs {
                            self.cluster.await_topic(t, Duration::from_secs(30)).await?;
                        }
                        GroupConsumer::with_cluster(Arc::clone(&self.cluster), ccfg, gcfg, None, &topic_refs)?
                    };
                    let dlq = match DlqConfig::from_parsed(&parsed) {
                        Some(dlq_cfg) => {
                            let overrides = prefixed(&config, "producer.override.");
                            let pcfg = ProducerConfig::from_properties(&client_props(
                                &self.worker,
                                "producer.",
                                &overrides,
                            ))
                            .map_err(|e| StandaloneError::Invalid(e.to_string()))?;
                            let producer =
                                Arc::new(Producer::with_cluster(Arc::clone(&self.cluster), pcfg).await?);
                            Some(
                                DeadLetterQueue::open(
                                    dlq_cfg,
                                    &Admin::new(Arc::clone(&self.cluster)),
                                    producer,
                                )
                                .await?,
                            )
                        }
                        None => None,
                    };
                    let errors = ErrorHandler::new(id.clone(), errors_cfg.clone(), dlq);
                    let error_stats = Arc::clone(errors.stats());
                    let stats = Arc::new(SinkStats::default());
                    let cfg = SinkLoopConfig { flush_interval };
                    let task = c.create_task();
                    let fut = run_sink_task(
                        id.clone(),
                        task,
                        task_props,
                        transforms::<SinkRecord>(&config)?,
                        conv,
                        consumer,
                        cfg,
                        errors,
                        Arc::clone(&stats),
                        stop_rx,
                    );
                    TaskHandle {
                        id: id.clone(),
                        stop,
                        join: tokio::spawn(record_failure(Arc::clone(&failure), fut)),
                        source_stats: None,
                        sink_stats: Some(stats),
                        error_stats,
                        failure,
                    }
                }
            };
            tracing::info!(task = %handle.id, "task started");
            tasks.push(handle);
        }
        tracing::info!(connector = %name, tasks = tasks.len(), "connector started");
        self.connectors.insert(name, ConnectorRun { instance, tasks });
        Ok(())
    }

    /// Each task's status: RUNNING, or FAILED with the error it ended with as its trace.
    pub fn task_statuses(&self) -> BTreeMap<TaskId, TaskStatus> {
        let mut out = BTreeMap::new();
        for run in self.connectors.values() {
            for t in &run.tasks {
                let trace = t.failure.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let state = if trace.is_some() || t.join.is_finished() {
                    State::Failed
                } else {
                    State::Running
                };
                out.insert(t.id.clone(), TaskStatus { state, trace });
            }
        }
        out
    }

    /// Each task's error-handling counters (Connect's `task-error-metrics`).
    pub fn task_error_stats(&self) -> BTreeMap<TaskId, Arc<ErrorStats>> {
        self.connectors
            .values()
            .flat_map(|run| {
                run.tasks
                    .iter()
                    .map(|t| (t.id.clone(), Arc::clone(&t.error_stats)))
            })
            .collect()
    }

    /// One line per task: records moved so far (for the progress display).
    pub fn progress(&self) -> Vec<String> {
        use std::sync::atomic::Ordering::Relaxed;
        let mut out = Vec::new();
        for run in self.connectors.values() {
            for t in &run.tasks {
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
        }
        out
    }

    /// Waits until a task ends (it failed, or stopped); returns its id and result.
    pub async fn next_task_end(&mut self) -> Option<(TaskId, Result<(), ConnectError>)> {
        loop {
            for run in self.connectors.values_mut() {
                if let Some(i) = run.tasks.iter().position(|t| t.join.is_finished()) {
                    let t = run.tasks.remove(i);
                    let r = t
                        .join
                        .await
                        .unwrap_or_else(|e| Err(ConnectError::Failed(format!("task panicked: {e}"))));
                    return Some((t.id, r));
                }
            }
            if self.connectors.values().all(|r| r.tasks.is_empty()) {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops every task (offsets flushed by each) within `task.shutdown.graceful.timeout.ms`,
    /// then every connector.
    pub async fn stop(mut self) {
        let limit = Duration::from_millis(
            self.worker
                .long("task.shutdown.graceful.timeout.ms")
                .unwrap_or(5000) as u64,
        );
        let deadline = tokio::time::Instant::now() + limit;
        for run in self.connectors.values() {
            for t in &run.tasks {
                let _ = t.stop.send(true);
            }
        }
        for (name, run) in std::mem::take(&mut self.connectors) {
            for t in run.tasks {
                match tokio::time::timeout_at(deadline, t.join).await {
                    Ok(Ok(Ok(()))) => tracing::info!(task = %t.id, "task stopped"),
                    Ok(Ok(Err(e))) => tracing::error!(task = %t.id, error = %e, "task failed"),
                    Ok(Err(e)) => tracing::error!(task = %t.id, error = %e, "task panicked"),
                    Err(_) => {
                        tracing::warn!(task = %t.id, "task did not stop within task.shutdown.graceful.timeout.ms")
                    }
                }
            }
            let stopped = match run.instance {
                Instance::Source(mut c) => c.stop().await,
                Instance::Sink(mut c) => c.stop().await,
            };
            if let Err(e) = stopped {
                tracing::warn!(connector = %name, error = %e, "connector stop failed");
            }
        }
    }
}

/// Runs a task's future and keeps the error it fails with, for its status.
async fn record_failure(
    slot: Arc<Mutex<Option<String>>>,
    task: impl std::future::Future<Output = Result<(), ConnectError>>,
) -> Result<(), ConnectError> {
    let r = task.await;
    if let Err(e) = &r {
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
    }
    r
}

fn prefixed(config: &BTreeMap<String, String>, prefix: &str) -> BTreeMap<String, String> {
    config
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|r| (r.to_string(), v.clone())))
        .collect()
}

/// Props alias for readers.
pub type ConnectorProps = Props;
