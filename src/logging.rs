//! Logging to stderr through `tracing`, filtered by `RUST_LOG` (default `info`), with levels
//! that `/admin/loggers` (KIP-495) can read and change while the worker runs: the filter sits
//! behind a reload handle, rebuilt from the root level plus one directive per logger set.

use kaflow_runtime::rest::{LogLevels, LoggerLevel};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tracing_subscriber::prelude::*;
use tracing_subscriber::{reload, EnvFilter, Registry};

/// Levels as the API shows them: root and each logger set through it.
#[derive(Debug)]
struct Levels {
    /// `RUST_LOG` as given (until the root level is set through the API).
    base: String,
    root: LoggerLevel,
    loggers: BTreeMap<String, LoggerLevel>,
}

impl Levels {
    fn directives(&self) -> String {
        let mut d = self.base.clone();
        for (name, l) in &self.loggers {
            d.push_str(&format!(",{name}={}", tracing_level(&l.level)));
        }
        d
    }
}

/// log4j's level names to tracing's (FATAL has no own level: ERROR).
fn tracing_level(log4j: &str) -> &'static str {
    match log4j {
        "TRACE" => "trace",
        "DEBUG" => "debug",
        "INFO" => "info",
        "WARN" => "warn",
        "ERROR" | "FATAL" => "error",
        _ => "off",
    }
}

/// The root level a `RUST_LOG` value sets: its bare level directive, else INFO.
fn root_of(base: &str) -> String {
    base.split(',')
        .map(str::trim)
        .find(|d| !d.contains('='))
        .map(|d| match d.to_ascii_lowercase().as_str() {
            "trace" => "TRACE",
            "debug" => "DEBUG",
            "warn" => "WARN",
            "error" => "ERROR",
            "off" => "OFF",
            _ => "INFO",
        })
        .unwrap_or("INFO")
        .to_string()
}

struct ReloadLevels {
    handle: reload::Handle<EnvFilter, Registry>,
    levels: Mutex<Levels>,
}

impl LogLevels for ReloadLevels {
    fn levels(&self) -> BTreeMap<String, LoggerLevel> {
        let l = self.levels.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = l.loggers.clone();
        out.insert("root".into(), l.root.clone());
        out
    }

    fn set(&self, logger: &str, level: &str) -> Result<Vec<String>, String> {
        if logger.is_empty()
            || !logger
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_:.-".contains(c))
        {
            return Err(format!("Invalid logger name '{logger}'."));
        }
        let mut l = self.levels.lock().unwrap_or_else(|e| e.into_inner());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .ok();
        let entry = LoggerLevel {
            level: level.to_string(),
            last_modified: now,
        };
        if logger == "root" {
            l.base = tracing_level(level).to_string();
            l.root = entry;
        } else {
            l.loggers.insert(logger.to_string(), entry);
        }
        let filter = EnvFilter::try_new(l.directives()).map_err(|e| format!("log level: {e}"))?;
        self.handle
            .reload(filter)
            .map_err(|e| format!("log level: {e}"))?;
        tracing::info!(logger, level, "log level changed through the REST API");
        Ok(vec![logger.to_string()])
    }
}

/// Installs the stderr logger; returns the levels `/admin/loggers` serves.
pub fn init() -> Option<Arc<dyn LogLevels>> {
    let base = std::env::var("RUST_LOG")
        .ok()
        .filter(|s| EnvFilter::try_new(s).is_ok())
        .unwrap_or_else(|| "info".to_string());
    let filter = EnvFilter::try_new(&base).unwrap_or_else(|_| EnvFilter::new("info"));
    let (layer, handle) = reload::Layer::new(filter);
    let installed = tracing_subscriber::registry()
        .with(layer)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                // Colour codes only on a terminal, never in a log file.
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        .try_init();
    installed.ok()?;
    Some(Arc::new(ReloadLevels {
        handle,
        levels: Mutex::new(Levels {
            root: LoggerLevel {
                level: root_of(&base),
                last_modified: None,
            },
            base,
            loggers: BTreeMap::new(),
        }),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_level_comes_from_the_bare_directive() {
        assert_eq!(root_of("warn,kaflow_runtime=debug"), "WARN");
        assert_eq!(root_of("kaflow_runtime=debug"), "INFO");
        assert_eq!(root_of("info"), "INFO");
    }

    #[test]
    fn directives_add_one_per_logger() {
        let mut l = Levels {
            base: "info".into(),
            root: LoggerLevel {
                level: "INFO".into(),
                last_modified: None,
            },
            loggers: BTreeMap::new(),
        };
        l.loggers.insert(
            "kaflow_runtime::worker".into(),
            LoggerLevel {
                level: "FATAL".into(),
                last_modified: Some(1),
            },
        );
        assert_eq!(l.directives(), "info,kaflow_runtime::worker=error");
    }
}
