//! Starting one task: its converters, transforms and Kafka clients (a producer for a source
//! task; a group consumer `connect-<name>` and maybe a dead letter queue producer for a sink
//! task), then its loop on its own tokio task.
//!
//! ```text
//!  worker + connector config ──converters / transforms / client_props──▶ clients
//!        └─▶ worker::source::run_source_task | worker::sink::run_sink_task ─▶ tokio::spawn
//!              └─ record_failure keeps the error it ends with (the task's status trace)
//! ```

use super::standalone::StandaloneError;
use crate::config::Parsed;
use crate::connector::{ConnectError, Props, SinkConnector, SourceConnector};

use crate::convert::{self, ConverterType};
use crate::data::{SinkRecord, SourceRecord};
use crate::transforms::{TransformChain, TransformRegistry};
use crate::worker::errors::{DeadLetterQueue, DlqConfig, ErrorHandler, ErrorStats, ErrorsConfig};
use crate::worker::sink::{run_sink_task, SinkLoopConfig, SinkStats};
use crate::worker::source::{run_source_task, SourceLoopConfig, SourceStats};
use crate::worker::{ActiveTopics, Converters, Identity, OffsetStore, RecordTransform, TaskId};
use kaflow_client::admin::Admin;
use kaflow_client::cluster::Cluster;
use kaflow_client::consumer::{ConsumerConfig, GroupConsumer};
use kaflow_client::group::GroupConfig;
use kaflow_client::metrics::{Registration, Registry, Source as MetricsSource};
use kaflow_client::producer::{Producer, ProducerConfig};
use kaflow_client::Properties;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running (or ended) task.
pub(crate) struct TaskHandle {
    pub(crate) id: TaskId,
    pub(crate) stop: watch::Sender<bool>,
    /// `None` once the task's end has been collected (its outcome is then in `failure`).
    pub(crate) join: Option<JoinHandle<Result<(), ConnectError>>>,
    pub(crate) source_stats: Option<Arc<SourceStats>>,
    pub(crate) sink_stats: Option<Arc<SinkStats>>,
    pub(crate) error_stats: Arc<ErrorStats>,
    /// A source task's producer (its request counters feed `/metrics`).
    pub(crate) producer: Option<Arc<Producer>>,
    /// The error a failed task ended with (its status trace).
    pub(crate) failure: Arc<Mutex<Option<String>>>,
    /// Its producer's or consumer's place in the worker's client metrics, until the handle
    /// is dropped.
    pub(crate) _metrics: Registration,
}

impl TaskHandle {
    /// True once the task's loop has returned (stopped or failed).
    pub(crate) fn ended(&self) -> bool {
        self.join.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// The trace of the error it failed with, if it did.
    pub(crate) fn trace(&self) -> Option<String> {
        self.failure.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Tells the task to stop and waits for it until `deadline`, logging how it ended.
    pub(crate) async fn stop_by(&mut self, deadline: tokio::time::Instant) {
        let _ = self.stop.send(true);
        let Some(join) = self.join.take() else {
            return;
        };
        match tokio::time::timeout_at(deadline, join).await {
            Ok(Ok(Ok(()))) => tracing::info!(task = %self.id, "task stopped"),
            Ok(Ok(Err(e))) => tracing::error!(task = %self.id, error = %e, "task failed"),
            Ok(Err(e)) => tracing::error!(task = %self.id, error = %e, "task panicked"),
            Err(_) => {
                tracing::warn!(task = %self.id, "task did not stop within task.shutdown.graceful.timeout.ms")
            }
        }
    }
}

/// The connector instance a task is created from.
pub(crate) enum Instance {
    Source(Box<dyn SourceConnector>),
    Sink(Box<dyn SinkConnector>),
}

/// A task instance, created from its connector before any await (connectors are `Send`, not
/// `Sync`, so no reference to one may live across an await in a spawned future).
pub(crate) enum NewTask {
    Source(Box<dyn crate::connector::SourceTask>),
    Sink(Box<dyn crate::connector::SinkTask>),
}

impl Instance {
    /// A new task of this connector.
    pub(crate) fn create_task(&self) -> NewTask {
        match self {
            Instance::Source(c) => NewTask::Source(c.create_task()),
            Instance::Sink(c) => NewTask::Sink(c.create_task()),
        }
    }
}

/// What every task of one connector is started with.
pub(crate) struct TaskContext<'a> {
    pub(crate) worker: &'a Parsed,
    pub(crate) cluster: &'a Arc<Cluster>,
    /// Where source offsets live: the offsets file (standalone) or topic (distributed).
    pub(crate) store: Arc<dyn OffsetStore>,
    /// The connector's config, as given (config-provider references resolved).
    pub(crate) config: &'a BTreeMap<String, String>,
    /// The same, parsed against the connector's ConfigDef.
    pub(crate) parsed: &'a Parsed,
    /// The connector's active topics (KIP-558), shared by its tasks.
    pub(crate) topics: &'a Arc<ActiveTopics>,
    /// The worker's client metrics, where the task's producer or consumer is registered.
    pub(crate) metrics: &'a Arc<Registry>,
}

/// Builds task `id`'s clients and starts its loop.
pub(crate) async fn spawn_task(
    cx: &TaskContext<'_>,
    task: NewTask,
    id: TaskId,
    task_props: Props,
) -> Result<TaskHandle, StandaloneError> {
    let (worker, config, name) = (cx.worker, cx.config, id.connector.as_str());
    let flush_interval =
        Duration::from_millis(worker.long("offset.flush.interval.ms").unwrap_or(60_000) as u64);
    let flush_timeout = Duration::from_millis(worker.long("offset.flush.timeout.ms").unwrap_or(5000) as u64);
    let errors_cfg = ErrorsConfig::from_parsed(cx.parsed);
    let conv = converters(worker, config)?;
    let (stop, stop_rx) = watch::channel(false);
    let failure: Arc<Mutex<Option<String>>> = Arc::default();
    let labels = |client_id: &str| {
        vec![
            ("connector", id.connector.clone()),
            ("task", id.task.to_string()),
            ("client_id", client_id.to_string()),
        ]
    };
    let handle = match task {
        NewTask::Source(task) => {
            let overrides: BTreeMap<String, String> = prefixed(config, "producer.override.");
            let pcfg = ProducerConfig::from_properties(&client_props(worker, "producer.", &overrides))
                .map_err(|e| StandaloneError::Invalid(e.to_string()))?;
            let client_id = pcfg.client.client_id.clone();
            let producer = Arc::new(Producer::with_cluster(Arc::clone(cx.cluster), pcfg).await?);
            let registration = cx.metrics.register(
                labels(&client_id),
                MetricsSource::Producer(Arc::clone(producer.metrics())),
            );
            let stats = Arc::new(SourceStats {
                topics: Arc::clone(cx.topics),
                ..SourceStats::default()
            });
            let store = Arc::clone(&cx.store);
            let cfg = SourceLoopConfig {
                flush_interval,
                flush_timeout,
            };
            let errors = ErrorHandler::new(id.clone(), errors_cfg, None);
            let error_stats = Arc::clone(errors.stats());
            let fut = run_source_task(
                id.clone(),
                task,
                task_props,
                transforms::<SourceRecord>(config)?,
                conv,
                Arc::clone(&producer),
                store,
                cfg,
                errors,
                Arc::clone(&stats),
                stop_rx,
            );
            let closing = Arc::clone(&producer);
            let join = tokio::spawn(record_failure(Arc::clone(&failure), async move {
                let r = fut.await;
                closing.close().await;
                r
            }));
            TaskHandle {
                id,
                stop,
                join: Some(join),
                source_stats: Some(stats),
                sink_stats: None,
                error_stats,
                producer: Some(producer),
                failure,
                _metrics: registration,
            }
        }
        NewTask::Sink(task) => {
            let mut overrides: BTreeMap<String, String> = prefixed(config, "consumer.override.");
            overrides
                .entry("group.id".into())
                .or_insert_with(|| format!("connect-{name}"));
            overrides
                .entry("auto.offset.reset".into())
                .or_insert_with(|| "earliest".into());
            let props = client_props(worker, "consumer.", &overrides);
            let ccfg = ConsumerConfig::from_properties(&props)
                .map_err(|e| StandaloneError::Invalid(e.to_string()))?;
            let client_id = ccfg.client.client_id.clone();
            let gcfg =
                GroupConfig::from_properties(&props).map_err(|e| StandaloneError::Invalid(e.to_string()))?;
            let topics: Vec<String> = cx.parsed.list("topics").to_vec();
            let consumer = if topics.is_empty() {
                // topics.regex (check_sink made sure exactly one of the two is set).
                let pattern = cx.parsed.string("topics.regex").unwrap_or_default();
                GroupConsumer::with_cluster_pattern(Arc::clone(cx.cluster), ccfg, gcfg, None, pattern)
                    .await
                    .map_err(|e| StandaloneError::Invalid(format!("connector {name}: topics.regex: {e}")))?
            } else {
                let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();
                // The group's leader assigns what metadata shows at join time; like the Java
                // consumer (allow.auto.create.topics), a metadata request creates missing topics
                // where the broker allows it, and we wait for their leaders.
                for t in &topic_refs {
                    cx.cluster.await_topic(t, Duration::from_secs(30)).await?;
                }
                GroupConsumer::with_cluster(Arc::clone(cx.cluster), ccfg, gcfg, None, &topic_refs)?
            };
            let dlq = match DlqConfig::from_parsed(cx.parsed) {
                Some(dlq_cfg) => {
                    let overrides = prefixed(config, "producer.override.");
                    let pcfg =
                        ProducerConfig::from_properties(&client_props(worker, "producer.", &overrides))
                            .map_err(|e| StandaloneError::Invalid(e.to_string()))?;
                    let producer = Arc::new(Producer::with_cluster(Arc::clone(cx.cluster), pcfg).await?);
                    Some(DeadLetterQueue::open(dlq_cfg, &Admin::new(Arc::clone(cx.cluster)), producer).await?)
                }
                None => None,
            };
            let registration = cx.metrics.register(
                labels(&client_id),
                MetricsSource::Consumer(Arc::clone(consumer.metrics())),
            );
            let errors = ErrorHandler::new(id.clone(), errors_cfg, dlq);
            let error_stats = Arc::clone(errors.stats());
            let stats = Arc::new(SinkStats {
                topics: Arc::clone(cx.topics),
                ..SinkStats::default()
            });
            let fut = run_sink_task(
                id.clone(),
                task,
                task_props,
                transforms::<SinkRecord>(config)?,
                conv,
                consumer,
                SinkLoopConfig { flush_interval },
                errors,
                Arc::clone(&stats),
                stop_rx,
            );
            TaskHandle {
                id,
                stop,
                join: Some(tokio::spawn(record_failure(Arc::clone(&failure), fut))),
                source_stats: None,
                sink_stats: Some(stats),
                error_stats,
                producer: None,
                failure,
                _metrics: registration,
            }
        }
    };
    tracing::info!(task = %handle.id, "task started");
    Ok(handle)
}

/// Properties for a client: the worker's `bootstrap.servers`, its `<prefix>*` keys, then the
/// connector's overrides.
pub(crate) fn client_props(
    worker: &Parsed,
    prefix: &str,
    overrides: &BTreeMap<String, String>,
) -> Properties {
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
        sub = prefixed(conn, &format!("{key}."));
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

/// `config`'s keys that start with `prefix`, without it.
pub(crate) fn prefixed(config: &BTreeMap<String, String>, prefix: &str) -> BTreeMap<String, String> {
    config
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|r| (r.to_string(), v.clone())))
        .collect()
}
