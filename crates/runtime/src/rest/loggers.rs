//! `/admin/loggers` (KIP-495): read and change log levels while the worker runs.
//!
//! The runtime doesn't own the process's log subscriber, so the binary hands the REST server a
//! [`LogLevels`] implementation (a reload handle over its filter). Logger names are kaflow's
//! tracing targets (`kaflow_runtime::worker::sink`, ...), and `root` is the default level.
//! Levels are log4j's names: TRACE, DEBUG, INFO, WARN, ERROR, FATAL (= ERROR), OFF.

use super::error::RestError;
use super::routes::{Method, Request};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// A logger's level and when it was last set through the API (ms since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggerLevel {
    /// log4j level name, upper case.
    pub level: String,
    /// When the API last changed it; `None` if never.
    pub last_modified: Option<i64>,
}

/// The process's log levels, as the binary exposes them.
pub trait LogLevels: Send + Sync {
    /// Every logger with a level set, `root` included.
    fn levels(&self) -> BTreeMap<String, LoggerLevel>;
    /// Sets `logger`'s level (`level` already validated, upper case); returns the loggers whose
    /// level changed.
    fn set(&self, logger: &str, level: &str) -> Result<Vec<String>, String>;
}

/// The log4j level names accepted in a PUT.
pub const LEVELS: [&str; 7] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF"];

/// Serves `/admin/loggers[/{name}]`; `None` if `req` isn't for it.
pub fn route(
    levels: Option<&dyn LogLevels>,
    req: &Request,
) -> Option<Result<(u16, Option<Value>), RestError>> {
    let seg: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let name = match seg.as_slice() {
        ["admin", "loggers"] => None,
        ["admin", "loggers", name] => Some(*name),
        _ => return None,
    };
    let Some(levels) = levels else {
        return Some(Err(RestError::new(404, "HTTP 404 Not Found")));
    };
    let entry = |l: &LoggerLevel| json!({"level": l.level, "last_modified": l.last_modified});
    Some(match (name, req.method) {
        (None, Method::Get) => {
            let all: Map<String, Value> = levels
                .levels()
                .iter()
                .map(|(k, v)| (k.clone(), entry(v)))
                .collect();
            Ok((200, Some(Value::Object(all))))
        }
        (Some(name), Method::Get) => {
            let all = levels.levels();
            // A logger without its own level has the nearest parent's, as in log4j.
            let effective = std::iter::successors(Some(name), |n| n.rsplit_once("::").map(|(p, _)| p))
                .find_map(|n| all.get(n))
                .or_else(|| all.get("root"));
            match effective {
                Some(l) => Ok((200, Some(entry(l)))),
                None => Err(RestError::new(404, format!("Logger {name} not found."))),
            }
        }
        (Some(name), Method::Put) => put(levels, name, req),
        _ => Err(RestError::method_not_allowed()),
    })
}

fn put(levels: &dyn LogLevels, name: &str, req: &Request) -> Result<(u16, Option<Value>), RestError> {
    let level = req
        .body
        .as_ref()
        .and_then(|b| b.get("level"))
        .and_then(Value::as_str)
        .ok_or_else(|| RestError::bad_request("Desired 'level' parameter was not specified in request."))?;
    let upper = level.to_ascii_uppercase();
    if !LEVELS.contains(&upper.as_str()) {
        return Err(RestError::bad_request(format!("Invalid log level '{level}'.")));
    }
    let scope = req
        .query
        .iter()
        .rev()
        .find(|(k, _)| k == "scope")
        .map(|(_, v)| v.to_ascii_lowercase());
    let changed = levels.set(name, &upper).map_err(RestError::bad_request)?;
    match scope.as_deref() {
        // KIP-976: a cluster-wide change answers 204 (one standalone worker is the cluster).
        Some("cluster") => Ok((204, None)),
        _ => Ok((200, Some(json!(changed)))),
    }
}
