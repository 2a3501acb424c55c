//! `kaflow standalone worker.properties connector.properties|connector.json ...`: the same
//! files connect-standalone takes. Startup errors print one clear message and exit 1; once
//! running, the REST API serves on `listeners` (default http://:8083); Ctrl-C or SIGTERM
//! stops every task (offsets flushed) and exits 0 (1 if a task failed meanwhile).

use kaflow_runtime::config::files::{load_connector, load_properties};
use kaflow_runtime::herder::standalone::TaskMetrics;
use kaflow_runtime::herder::{StandaloneWorker, State};
use kaflow_runtime::plugins::Plugins;
use kaflow_runtime::rest::{
    listeners, BasicAuth, Listener, LogLevels, RestOptions, RestServer, SharedWorker,
};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Runs a standalone worker until interrupted.
pub fn run(files: Vec<String>, log_levels: Option<Arc<dyn LogLevels>>) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kaflow standalone: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        match run_async(files, log_levels).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("kaflow standalone: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

async fn run_async(files: Vec<String>, log_levels: Option<Arc<dyn LogLevels>>) -> Result<(), String> {
    let (worker_file, connector_files) = files
        .split_first()
        .ok_or("usage: kaflow standalone worker.properties [connector files...]")?;
    let worker_props = load_properties(Path::new(worker_file)).map_err(|e| e.to_string())?;
    let mut connectors = Vec::new();
    for f in connector_files {
        connectors.push(load_connector(Path::new(f)).map_err(|e| e.to_string())?);
    }
    let mut plugins = Plugins::new();
    kaflow_connectors::register(&mut plugins);
    plugins.register_builtin_others(env!("CARGO_PKG_VERSION"));
    let worker = StandaloneWorker::start(worker_props, plugins)
        .await
        .map_err(|e| e.to_string())?;
    // The REST API comes up before the connectors start, as in Connect, so a bad listener
    // stops the worker before any record moves.
    let rest = RestSetup::from_worker(worker.worker_config(), log_levels)?;
    let (listeners, options, worker_id) = (rest.listeners, rest.options, rest.advertised);
    let worker = Arc::new(tokio::sync::Mutex::new(worker));
    let shared: SharedWorker = Arc::clone(&worker) as SharedWorker;
    let server = match RestServer::start(&listeners, shared, options).await {
        Ok(s) => s,
        Err(e) => {
            worker.lock().await.stop().await;
            return Err(e);
        }
    };
    if let Some(addr) = server.bound().first() {
        let id = listeners::worker_id(*addr, worker_id.0.as_deref(), worker_id.1);
        worker.lock().await.set_worker_id(id);
    }
    for c in connectors {
        let name = c.name.clone();
        let added = worker.lock().await.add_connector(c.config).await;
        if let Err(e) = added {
            worker.lock().await.stop().await;
            return Err(format!("connector {name}: {e}"));
        }
    }
    tracing::info!("kaflow standalone worker running; Ctrl-C to stop");
    let mut progress = tokio::time::interval(Duration::from_secs(5));
    progress.tick().await;
    let mut reap = tokio::time::interval(Duration::from_millis(100));
    let mut throughput = Throughput::default();
    let mut failed = None;
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = progress.tick() => {
                let w = worker.lock().await;
                tracing::info!("{}", throughput.line(&w.task_metrics()));
                for line in w.progress() {
                    tracing::debug!("{line}");
                }
            }
            _ = reap.tick() => {
                // Ended tasks keep their slot (status FAILED with the trace, restartable
                // through REST); the worker keeps serving the others, as Connect does.
                for (id, ended) in worker.lock().await.reap_ended_tasks().await {
                    match ended {
                        Err(e) => {
                            tracing::error!(task = %id, error = %e, "task FAILED");
                            failed.get_or_insert(format!("task {id} failed: {e}"));
                        }
                        Ok(()) => tracing::info!(task = %id, "task finished"),
                    }
                }
            }
        }
    }
    tracing::info!("stopping: tasks flush their offsets");
    drop(server);
    let mut w = worker.lock().await;
    for line in w.progress() {
        tracing::info!("{line}");
    }
    w.stop().await;
    failed.map_or(Ok(()), Err)
}

/// The REST server's settings from a worker config: listeners, basic auth, log levels, and
/// the advertised host and port (`rest.advertised.*`) that make the worker id.
pub(crate) struct RestSetup {
    pub(crate) listeners: Vec<Listener>,
    pub(crate) options: RestOptions,
    pub(crate) advertised: (Option<String>, Option<i64>),
}

impl RestSetup {
    pub(crate) fn from_worker(
        cfg: &kaflow_runtime::config::Parsed,
        log_levels: Option<Arc<dyn LogLevels>>,
    ) -> Result<Self, String> {
        let listeners = cfg
            .list("listeners")
            .iter()
            .map(|l| Listener::parse(l))
            .collect::<Result<Vec<_>, _>>()?;
        let auth = match cfg.string("rest.basic.auth.credentials.file") {
            Some(f) if !f.is_empty() => Some(BasicAuth::from_file(Path::new(f))?),
            _ => None,
        };
        Ok(Self {
            listeners,
            options: RestOptions {
                loggers: log_levels,
                auth,
            },
            advertised: (
                cfg.string("rest.advertised.host.name").map(str::to_string),
                cfg.long("rest.advertised.port"),
            ),
        })
    }
}

pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The periodic one-line throughput summary: records per second since the last line, summed
/// over every task, and the totals.
#[derive(Debug, Default)]
pub(crate) struct Throughput {
    last: Option<(std::time::Instant, u64, u64)>,
}

impl Throughput {
    pub(crate) fn line(&mut self, tasks: &[TaskMetrics]) -> String {
        use std::sync::atomic::Ordering::Relaxed;
        let written: u64 = tasks
            .iter()
            .filter_map(|t| t.source.as_ref())
            .map(|s| s.written.load(Relaxed))
            .sum();
        let put: u64 = tasks
            .iter()
            .filter_map(|t| t.sink.as_ref())
            .map(|s| s.put.load(Relaxed))
            .sum();
        let failed = tasks.iter().filter(|t| t.state == State::Failed).count();
        let now = std::time::Instant::now();
        let rate = |total: u64, before: u64, since: std::time::Instant| {
            let secs = now.duration_since(since).as_secs_f64().max(1e-3);
            (total.saturating_sub(before) as f64 / secs).round() as u64
        };
        let (src_rate, sink_rate) = match self.last {
            Some((at, w, p)) => (rate(written, w, at), rate(put, p, at)),
            None => (0, 0),
        };
        self.last = Some((now, written, put));
        format!(
            "throughput: sources {src_rate} records/s ({written} written), sinks {sink_rate} records/s \
             ({put} put), {} tasks, {failed} failed",
            tasks.len()
        )
    }
}
