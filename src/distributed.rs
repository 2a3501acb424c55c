//! `kaflow distributed worker.properties`: the file connect-distributed takes. The worker
//! creates the internal topics if missing, serves the REST API on `listeners`, joins the
//! worker group `group.id` with its REST URL, and runs what the group's leader assigns it.
//! Startup errors print one clear message and exit 1; Ctrl-C or SIGTERM leaves the group (its
//! tasks stop, offsets flushed, and move to the other workers) and exits 0.

use crate::standalone::{shutdown_signal, RestSetup, Throughput};
use kaflow_runtime::config::files::load_properties;
use kaflow_runtime::herder::{DistributedWorker, Herder};
use kaflow_runtime::plugins::Plugins;
use kaflow_runtime::rest::{listeners, LogLevels, RestServer, SharedWorker};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Runs a distributed worker until interrupted.
pub fn run(worker_file: String, log_levels: Option<Arc<dyn LogLevels>>) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kaflow distributed: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        match run_async(&worker_file, log_levels).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("kaflow distributed: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

async fn run_async(worker_file: &str, log_levels: Option<Arc<dyn LogLevels>>) -> Result<(), String> {
    let props = load_properties(Path::new(worker_file)).map_err(|e| e.to_string())?;
    let mut plugins = Plugins::new();
    kaflow_connectors::register(&mut plugins);
    plugins.register_builtin_others(env!("CARGO_PKG_VERSION"));
    let worker = DistributedWorker::start(props, plugins)
        .await
        .map_err(|e| e.to_string())?;
    let rest = RestSetup::from_worker(worker.worker_config(), log_levels)?;
    let worker = Arc::new(tokio::sync::Mutex::new(worker));
    let shared: SharedWorker = Arc::clone(&worker) as SharedWorker;
    let server = match RestServer::start(&rest.listeners, shared, rest.options).await {
        Ok(s) => s,
        Err(e) => {
            worker.lock().await.stop().await;
            return Err(e);
        }
    };
    let bound = *server
        .bound()
        .first()
        .ok_or("the REST server bound no listener")?;
    let (host, port) = (rest.advertised.0.as_deref(), rest.advertised.1);
    let worker_id = listeners::worker_id(bound, host, port);
    let url = format!("http://{worker_id}/");
    worker.lock().await.join(url.clone(), worker_id);
    tracing::info!(%url, "kaflow distributed worker running; Ctrl-C to stop");
    let mut progress = tokio::time::interval(Duration::from_secs(5));
    progress.tick().await;
    let mut throughput = Throughput::default();
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = progress.tick() => {
                let w = worker.lock().await;
                tracing::info!("{}", throughput.line(&w.task_metrics()));
                for line in w.progress().await {
                    tracing::debug!("{line}");
                }
            }
        }
    }
    tracing::info!("stopping: leaving the worker group");
    drop(server);
    worker.lock().await.stop().await;
    Ok(())
}
