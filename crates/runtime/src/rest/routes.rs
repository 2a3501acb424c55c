//! Connect's REST resources (`RootResource`, `ConnectorsResource`, `ConnectorPluginsResource`):
//! one function per endpoint, dispatched on method and path.
//!
//! ```text
//!  Request {method, path, query, body} ─▶ route() ─▶ match segments
//!     /                         GET        server info
//!     /health                   GET        KIP-1017
//!     /connectors               GET POST   list (expand=status|info), create (initial_state)
//!     /connectors/{c}           GET DELETE
//!     /connectors/{c}/config    GET PUT PATCH
//!     /connectors/{c}/status    GET
//!     /connectors/{c}/restart   POST       includeTasks, onlyFailed (KIP-745)
//!     /connectors/{c}/pause|resume|stop PUT
//!     /connectors/{c}/tasks     GET;  /tasks/{t}/status GET;  /tasks/{t}/restart POST
//!     /connectors/{c}/offsets   GET PATCH DELETE  KIP-875
//!     /connectors/{c}/topics    GET;  /topics/reset PUT  KIP-558
//!     /connector-plugins        GET        connectorsOnly
//!     /connector-plugins/{p}/config GET;  /config/validate PUT
//! ```

use super::entities;
use super::error::RestError;
use super::server::SharedWorker;
use crate::config::{connector, ConfigDef};
use crate::convert::{KNOWN_CONVERTERS, KNOWN_HEADER_CONVERTERS};
use crate::herder::{Herder, State, StateInfo, TargetState};
use crate::plugins::{ConnectorFactory, PluginInfo, PluginType};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// An HTTP method the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
    /// Anything else.
    Other,
}

/// A parsed request.
#[derive(Debug)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// Percent-decoded path segments (no empty ones).
    pub segments: Vec<String>,
    /// Query parameters, in order (a key may repeat: `expand=status&expand=info`).
    pub query: Vec<(String, String)>,
    /// The body, parsed as JSON; `None` when empty.
    pub body: Option<Value>,
}

/// A response: status, JSON body (none for 204) and a `Location` for 201.
#[derive(Debug, PartialEq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: Option<Value>,
    /// `Location` header, for a created connector.
    pub location: Option<String>,
}

impl Response {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            location: None,
        }
    }
    fn ok(body: Value) -> Self {
        Self::json(200, body)
    }
    fn empty(status: u16) -> Self {
        Self {
            status,
            body: None,
            location: None,
        }
    }
}

type Result<T> = std::result::Result<T, RestError>;

/// Serves one request.
pub async fn route(worker: &SharedWorker, req: Request) -> Result<Response> {
    let seg: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    use Method::*;
    match (seg.as_slice(), req.method) {
        ([], Get) => server_info(worker).await,
        (["health"], Get) => Ok(Response::ok(json!({
            "status": "healthy",
            "message": "Worker has completed startup and is ready to handle requests."
        }))),
        (["connectors"], Get) => list_connectors(worker, &req).await,
        (["connectors"], Post) => create_connector(worker, &req).await,
        (["connectors", c], Get) => Ok(Response::ok(entities::connector_info(
            &worker.lock().await.info(c)?,
        ))),
        (["connectors", c], Delete) => {
            worker.lock().await.delete_connector(c).await?;
            Ok(Response::empty(204))
        }
        (["connectors", c, "config"], Get) => {
            let info = worker.lock().await.info(c)?;
            Ok(Response::ok(json!(info.config)))
        }
        (["connectors", c, "config"], Put) => put_config(worker, c, &req).await,
        (["connectors", c, "config"], Patch) => patch_config(worker, c, &req).await,
        (["connectors", c, "status"], Get) => Ok(Response::ok(entities::connector_status(
            &worker.lock().await.status(c)?,
        ))),
        (["connectors", c, "restart"], Post) => restart(worker, c, &req).await,
        (["connectors", c, "pause"], Put) => {
            worker.lock().await.pause_connector(c).await?;
            Ok(Response::empty(202))
        }
        (["connectors", c, "resume"], Put) => {
            worker.lock().await.resume_connector(c).await?;
            Ok(Response::empty(202))
        }
        (["connectors", c, "stop"], Put) => {
            worker.lock().await.stop_connector(c).await?;
            Ok(Response::empty(204))
        }
        (["connectors", c, "tasks"], Get) => {
            let tasks = worker.lock().await.task_configs(c)?;
            Ok(Response::ok(entities::task_infos(&tasks)))
        }
        (["connectors", c, "tasks", t, "status"], Get) => {
            let n = task_number(t)?;
            let st = worker.lock().await.status(c)?;
            let (_, s) = st
                .tasks
                .iter()
                .find(|(id, _)| *id == n)
                .ok_or_else(|| RestError::new(404, format!("Task {c}-{n} not found")))?;
            Ok(Response::ok(entities::task_state(n, s)))
        }
        (["connectors", c, "tasks", t, "restart"], Post) => {
            let n = task_number(t)?;
            worker.lock().await.restart_task(c, n).await?;
            Ok(Response::empty(204))
        }
        (["connectors", c, "offsets"], Get) => {
            let offsets = worker.lock().await.offsets(c).await?;
            let list: Vec<Value> = offsets
                .into_iter()
                .map(|(partition, offset)| json!({"partition": partition, "offset": offset}))
                .collect();
            Ok(Response::ok(json!({ "offsets": list })))
        }
        (["connectors", c, "offsets"], Patch) => {
            let entries = offsets_body(&req)?;
            worker.lock().await.alter_offsets(c, entries).await?;
            Ok(Response::ok(json!({"message": OFFSETS_ALTERED})))
        }
        (["connectors", c, "offsets"], Delete) => {
            worker.lock().await.reset_offsets(c).await?;
            Ok(Response::ok(json!({"message": OFFSETS_RESET})))
        }
        (["connectors", c, "topics"], Get) => {
            let topics = worker.lock().await.active_topics(c)?;
            Ok(Response::ok(json!({ *c: {"topics": topics} })))
        }
        (["connectors", c, "topics", "reset"], Put) => {
            worker.lock().await.reset_active_topics(c)?;
            Ok(Response::empty(202))
        }
        (["connector-plugins"], Get) => {
            let only = flag(&req, "connectorsOnly", true)?;
            let w = worker.lock().await;
            let list: Vec<Value> = w.plugins().list(only).iter().map(entities::plugin_info).collect();
            Ok(Response::ok(Value::Array(list)))
        }
        (["connector-plugins", p, "config"], Get) => {
            let w = worker.lock().await;
            let (_, listed, _) = plugin_defs(&*w, p)?;
            Ok(Response::ok(entities::config_def(&listed)))
        }
        (["connector-plugins", p, "config", "validate"], Put) => validate(worker, p, &req).await,
        (
            []
            | ["health"]
            | ["connectors"]
            | ["connectors", _]
            | ["connectors", _, "config" | "status" | "restart" | "pause" | "resume" | "stop" | "tasks" | "offsets" | "topics"]
            | ["connectors", _, "topics", "reset"]
            | ["connectors", _, "tasks", _, "status" | "restart"]
            | ["connector-plugins"]
            | ["connector-plugins", _, "config"]
            | ["connector-plugins", _, "config", "validate"],
            _,
        ) => Err(RestError::method_not_allowed()),
        _ => Err(RestError::no_route()),
    }
}

/// Connect's answer when the framework altered the offsets it manages (`Worker`, KIP-875).
const OFFSETS_ALTERED: &str = "The Connect framework-managed offsets for this connector have been altered successfully. \
However, if this connector manages offsets externally, they will need to be manually altered in the system that the connector uses.";

/// Connect's answer to a reset.
const OFFSETS_RESET: &str = "The Connect framework-managed offsets for this connector have been reset successfully. \
However, if this connector manages offsets externally, they will need to be manually reset in the system that the connector uses.";

/// `{"offsets": [{"partition": {...}, "offset": {...} | null}]}`.
fn offsets_body(req: &Request) -> Result<Vec<(Value, Option<Value>)>> {
    let list = body(req)?
        .get("offsets")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            RestError::bad_request("Partitions / offsets need to be provided for an alter offsets request")
        })?;
    if list.is_empty() {
        return Err(RestError::bad_request(
            "Partitions / offsets need to be provided for an alter offsets request",
        ));
    }
    list.iter()
        .map(|e| {
            let partition = e
                .get("partition")
                .filter(|p| !p.is_null())
                .cloned()
                .ok_or_else(|| RestError::bad_request("Partitions cannot be null"))?;
            let offset = e.get("offset").filter(|o| !o.is_null()).cloned();
            Ok((partition, offset))
        })
        .collect()
}

async fn server_info(worker: &SharedWorker) -> Result<Response> {
    let cluster = std::sync::Arc::clone(worker.lock().await.cluster());
    let id = cluster.metadata().cluster_id.clone();
    Ok(Response::ok(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "commit": option_env!("KAFLOW_GIT_COMMIT").unwrap_or("unknown"),
        "kafka_cluster_id": id,
    })))
}

fn task_number(t: &str) -> Result<u32> {
    t.parse()
        .map_err(|_| RestError::new(404, format!("HTTP 404 Not Found: task id {t:?} is not a number")))
}

/// A boolean query flag (Jersey rejects a value that isn't a boolean with 404; so do we).
fn flag(req: &Request, name: &str, default: bool) -> Result<bool> {
    match req.query.iter().rev().find(|(k, _)| k == name) {
        None => Ok(default),
        Some((_, v)) => match v.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" | "" => Ok(false),
            _ => Err(RestError::new(404, "HTTP 404 Not Found")),
        },
    }
}

async fn list_connectors(worker: &SharedWorker, req: &Request) -> Result<Response> {
    let w = worker.lock().await;
    let expand: Vec<&str> = req
        .query
        .iter()
        .filter(|(k, _)| k == "expand")
        .map(|(_, v)| v.as_str())
        .collect();
    let names = w.connector_names();
    let (status, info) = (expand.contains(&"status"), expand.contains(&"info"));
    // As Connect: any `expand` (even one it doesn't know) answers a map of names.
    if expand.is_empty() {
        return Ok(Response::ok(json!(names)));
    }
    let mut out = Map::new();
    for name in names {
        let mut m = Map::new();
        if status {
            m.insert("status".into(), entities::connector_status(&w.status(&name)?));
        }
        if info {
            m.insert("info".into(), entities::connector_info(&w.info(&name)?));
        }
        out.insert(name, Value::Object(m));
    }
    Ok(Response::ok(Value::Object(out)))
}

/// A JSON object of strings (numbers and booleans are taken as their text, as Jackson does);
/// `allow_null` keeps nulls as `None` (PATCH removes those keys).
fn string_map(v: &Value, allow_null: bool) -> Result<BTreeMap<String, Option<String>>> {
    let obj = v
        .as_object()
        .ok_or_else(|| RestError::bad_request("the connector config must be a JSON object"))?;
    let mut out = BTreeMap::new();
    for (k, v) in obj {
        let s = match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null if allow_null => None,
            Value::Null => return Err(RestError::bad_request(format!("config {k}: null is not a value"))),
            _ => {
                return Err(RestError::bad_request(format!(
                    "config {k}: expected a string, got {v}"
                )))
            }
        };
        out.insert(k.clone(), s);
    }
    Ok(out)
}

fn plain(m: BTreeMap<String, Option<String>>) -> BTreeMap<String, String> {
    m.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect()
}

fn body(req: &Request) -> Result<&Value> {
    req.body
        .as_ref()
        .ok_or_else(|| RestError::bad_request("the request needs a JSON body"))
}

fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(RestError::bad_request("Connector name is required"));
    }
    if name.contains('/') {
        return Err(RestError::bad_request("connector name should not contain '/'"));
    }
    if name.chars().any(char::is_control) {
        return Err(RestError::bad_request(
            "Connector name must not contain ISO control characters",
        ));
    }
    Ok(())
}

async fn create_connector(worker: &SharedWorker, req: &Request) -> Result<Response> {
    let b = body(req)?;
    let name = b
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or_default()
        .to_string();
    check_name(&name)?;
    let config = plain(string_map(
        b.get("config")
            .ok_or_else(|| RestError::bad_request("the request has no \"config\""))?,
        false,
    )?);
    if let Some(n) = config.get("name") {
        if n != &name {
            return Err(RestError::bad_request(format!(
                "Connector name configuration ({n}) doesn't match connector name in the URL ({name})"
            )));
        }
    }
    let target = match b.get("initial_state") {
        None | Some(Value::Null) => TargetState::Started,
        Some(Value::String(s)) => {
            TargetState::from_initial_state(&s.to_ascii_uppercase()).ok_or_else(|| {
                RestError::bad_request(format!(
                    "Invalid initial state {s}; must be one of RUNNING, PAUSED, STOPPED"
                ))
            })?
        }
        Some(v) => return Err(RestError::bad_request(format!("Invalid initial state {v}"))),
    };
    let info = worker
        .lock()
        .await
        .create_connector(&name, config, target)
        .await?;
    Ok(Response {
        status: 201,
        body: Some(entities::connector_info(&info)),
        location: Some(format!("/connectors/{name}")),
    })
}

async fn put_config(worker: &SharedWorker, name: &str, req: &Request) -> Result<Response> {
    check_name(name)?;
    let config = plain(string_map(body(req)?, false)?);
    if let Some(n) = config.get("name") {
        if n != name {
            return Err(RestError::bad_request(format!(
                "Connector name configuration ({n}) doesn't match connector name in the URL ({name})"
            )));
        }
    }
    let (created, info) = worker.lock().await.put_config(name, config).await?;
    Ok(Response {
        status: if created { 201 } else { 200 },
        body: Some(entities::connector_info(&info)),
        location: created.then(|| format!("/connectors/{name}")),
    })
}

/// KIP-477: merges the body into the current config; a `null` value removes the key.
async fn patch_config(worker: &SharedWorker, name: &str, req: &Request) -> Result<Response> {
    let patch = string_map(body(req)?, true)?;
    let mut w = worker.lock().await;
    let mut config = w.raw_config(name)?;
    for (k, v) in patch {
        match v {
            Some(v) => config.insert(k, v),
            None => config.remove(&k),
        };
    }
    if config.get("name").is_some_and(|n| n != name) {
        return Err(RestError::bad_request(format!(
            "Connector name configuration ({}) doesn't match connector name in the URL ({name})",
            config["name"]
        )));
    }
    let (_, info) = w.put_config(name, config).await?;
    Ok(Response::ok(entities::connector_info(&info)))
}

async fn restart(worker: &SharedWorker, name: &str, req: &Request) -> Result<Response> {
    let include_tasks = flag(req, "includeTasks", false)?;
    let only_failed = flag(req, "onlyFailed", false)?;
    let mut w = worker.lock().await;
    let mut plan = w.status(name)?;
    w.restart_connector(name, include_tasks, only_failed).await?;
    if !include_tasks && !only_failed {
        // KIP-745: the legacy form restarts the connector only and answers 204.
        return Ok(Response::empty(204));
    }
    // Connect answers with its restart plan: the states from before, RESTARTING for what it
    // restarts (everything, or only what had failed).
    let restarts = |s: &StateInfo| !only_failed || s.state == State::Failed;
    if restarts(&plan.connector) {
        plan.connector.state = State::Restarting;
    }
    for (_, t) in &mut plan.tasks {
        if include_tasks && restarts(t) {
            t.state = State::Restarting;
        }
    }
    Ok(Response::json(202, entities::connector_status(&plan)))
}

/// The plugin's info and its keys as Connect lists them: for `GET .../config` its own keys then
/// the common ones, for `validate` the common ones then its own. `connector.plugin.version`
/// defaults to the plugin's version, as in Connect.
fn plugin_defs(w: &dyn Herder, plugin: &str) -> Result<(PluginInfo, ConfigDef, ConfigDef)> {
    let (info, factory) = w
        .plugins()
        .connector(plugin)
        .map_err(|e| RestError::new(404, e.to_string()))?;
    let (own, common) = match factory {
        ConnectorFactory::Source(make) => (make().config(), connector::source_def()),
        ConnectorFactory::Sink(make) => (make().config(), connector::sink_def()),
    };
    let common = common.with_default("connector.plugin.version", &info.version);
    let listed = own.clone().merge(&common);
    let full = common.merge(&own);
    Ok((info.clone(), listed, full))
}

async fn validate(worker: &SharedWorker, plugin: &str, req: &Request) -> Result<Response> {
    let config = plain(string_map(body(req)?, false)?);
    let w = worker.lock().await;
    if let Some(included) = config.get("connector.class") {
        let norm = |s: &str| {
            s.rsplit('.')
                .next()
                .unwrap_or(s)
                .trim_end_matches("Connector")
                .to_string()
        };
        if norm(included) != norm(plugin) {
            return Err(RestError::bad_request(format!(
                "Included connector type {included} does not match request type {plugin}"
            )));
        }
    }
    let (info, _, full) = plugin_defs(&*w, plugin)?;
    let mut config = config;
    // As Connect: the class named in the path when the config names none, and that name
    // (not the full class) in the answer.
    let class = config
        .entry("connector.class".into())
        .or_insert_with(|| plugin.to_string())
        .clone();
    let (full, recommended) = validate_defaults(&*w, &info, full);
    let mut reports = full.validate(&config);
    if info.plugin_type == PluginType::Sink {
        connector::add_sink_report_errors(&config, &mut reports);
    }
    Ok(Response::ok(entities::config_infos(
        &class,
        &full,
        &reports,
        &recommended,
    )))
}

/// As Connect's validate (which checks against a definition enriched by the worker): the
/// converter keys default to the worker's converters and every `*.plugin.version` to the
/// plugin's version; the converter keys recommend the converters this worker has, the version
/// keys the one version there is.
fn validate_defaults(
    w: &dyn Herder,
    info: &PluginInfo,
    mut def: ConfigDef,
) -> (ConfigDef, BTreeMap<String, Vec<String>>) {
    let own_version = env!("CARGO_PKG_VERSION");
    let mut recommended = BTreeMap::new();
    recommended.insert("connector.plugin.version".to_string(), vec![info.version.clone()]);
    for (key, known) in [
        ("key.converter", KNOWN_CONVERTERS),
        ("value.converter", KNOWN_CONVERTERS),
        ("header.converter", KNOWN_HEADER_CONVERTERS),
    ] {
        if let Some(c) = w.worker_config().string(key) {
            def = def.with_default(key, c);
        }
        let version_key = format!("{key}.plugin.version");
        def = def.with_default(&version_key, own_version);
        let mut classes: Vec<String> = known.iter().map(|c| c.to_string()).collect();
        classes.sort();
        recommended.insert(key.to_string(), classes);
        recommended.insert(version_key, vec![own_version.to_string()]);
    }
    (def, recommended)
}
