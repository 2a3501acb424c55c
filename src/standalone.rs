//! `kaflow standalone worker.properties connector.properties|connector.json ...`: the same
//! files connect-standalone takes. Startup errors print one clear message and exit 1; once
//! running, Ctrl-C or SIGTERM stops every task (offsets flushed) and exits 0.

use kaflow_runtime::config::files::{load_connector, load_properties};
use kaflow_runtime::herder::StandaloneWorker;
use kaflow_runtime::plugins::Plugins;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// Runs a standalone worker until interrupted.
pub fn run(files: Vec<String>) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kaflow standalone: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        match run_async(files).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("kaflow standalone: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

async fn run_async(files: Vec<String>) -> Result<(), String> {
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
    let mut worker = StandaloneWorker::start(worker_props, plugins)
        .await
        .map_err(|e| e.to_string())?;
    for c in connectors {
        let name = c.name.clone();
        if let Err(e) = worker.add_connector(c.config).await {
            worker.stop().await;
            return Err(format!("connector {name}: {e}"));
        }
    }
    tracing::info!("kaflow standalone worker running; Ctrl-C to stop");
    let mut progress = tokio::time::interval(Duration::from_secs(5));
    progress.tick().await;
    let mut failed = None;
    loop {
        tokio::select! {
            _ = shutdown_signal() => break,
            _ = progress.tick() => {
                for line in worker.progress() {
                    tracing::info!("{line}");
                }
            }
            ended = worker.next_task_end() => match ended {
                Some((id, Err(e))) => {
                    // The worker keeps serving the other tasks, as Connect does.
                    tracing::error!(task = %id, error = %e, "task FAILED");
                    failed.get_or_insert(format!("task {id} failed: {e}"));
                }
                Some((id, Ok(()))) => tracing::info!(task = %id, "task finished"),
                None => {
                    tracing::info!("no task is running");
                    break;
                }
            },
        }
    }
    tracing::info!("stopping: tasks flush their offsets");
    for line in worker.progress() {
        tracing::info!("{line}");
    }
    worker.stop().await;
    failed.map_or(Ok(()), Err)
}

async fn shutdown_signal() {
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
