//! The JSON bodies of Connect's REST API (`org.apache.kafka.connect.runtime.rest.entities`):
//! `ConnectorInfo`, `ConnectorStateInfo`, `TaskInfo`, `PluginInfo`, `ConfigKeyInfo`,
//! `ConfigInfos`, `ServerInfo`. Key names and value types follow Connect exactly; the
//! differential test (tests/rest_connect_diff.rs) compares them with a real Connect worker.

use crate::config::{ConfigDef, ConfigKey, ConfigType, KeyReport};
use crate::herder::{ConnectorInfo, ConnectorStatus, StateInfo};
use crate::plugins::PluginInfo;
use crate::worker::TaskId;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

fn string_map(m: &BTreeMap<String, String>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// `{"connector": name, "task": n}`.
pub fn task_id(id: &TaskId) -> Value {
    json!({"connector": id.connector, "task": id.task})
}

/// `ConnectorInfo`: `{"name", "config", "tasks": [{"connector","task"}], "type"}`.
pub fn connector_info(info: &ConnectorInfo) -> Value {
    json!({
        "name": info.name,
        "config": string_map(&info.config),
        "tasks": info.tasks.iter().map(task_id).collect::<Vec<_>>(),
        "type": info.kind.name(),
    })
}

fn state(s: &StateInfo, id: Option<u32>) -> Value {
    let mut m = Map::new();
    if let Some(id) = id {
        m.insert("id".into(), json!(id));
    }
    m.insert("state".into(), json!(s.state.name()));
    m.insert("worker_id".into(), json!(s.worker_id));
    // Connect leaves `trace` out when there is none.
    if let Some(t) = &s.trace {
        m.insert("trace".into(), json!(t));
    }
    if let Some(v) = &s.version {
        m.insert("version".into(), json!(v));
    }
    Value::Object(m)
}

/// One task's `TaskState`: `{"id", "state", "worker_id", "trace"?, "version"?}`.
pub fn task_state(id: u32, s: &StateInfo) -> Value {
    state(s, Some(id))
}

/// `ConnectorStateInfo`: `{"name", "connector": {...}, "tasks": [...], "type"}`.
pub fn connector_status(st: &ConnectorStatus) -> Value {
    json!({
        "name": st.name,
        "connector": state(&st.connector, None),
        "tasks": st.tasks.iter().map(|(n, s)| task_state(*n, s)).collect::<Vec<_>>(),
        "type": st.kind.name(),
    })
}

/// `TaskInfo` list: `[{"id": {"connector","task"}, "config": {...}}]`.
pub fn task_infos(tasks: &[(TaskId, BTreeMap<String, String>)]) -> Value {
    Value::Array(
        tasks
            .iter()
            .map(|(id, c)| json!({"id": task_id(id), "config": string_map(c)}))
            .collect(),
    )
}

/// `PluginInfo`: `{"class", "type", "version"}`.
pub fn plugin_info(p: &PluginInfo) -> Value {
    json!({"class": p.class, "type": p.plugin_type.name(), "version": p.version})
}

fn default_value(k: &ConfigKey) -> Value {
    match &k.default {
        None | Some(None) => Value::Null,
        Some(Some(_)) if k.ty == ConfigType::Password => json!("[hidden]"),
        Some(Some(d)) => json!(d),
    }
}

/// `ConfigKeyInfo` of one key.
pub fn config_key(k: &ConfigKey) -> Value {
    json!({
        "name": k.name,
        "type": k.ty.name(),
        "required": k.is_required(),
        "default_value": default_value(k),
        "importance": k.importance.name(),
        "documentation": k.documentation,
        "group": k.group,
        "order_in_group": k.order_in_group,
        "width": k.width.name(),
        "display_name": k.display_name,
        "dependents": k.dependents,
    })
}

/// `GET /connector-plugins/{plugin}/config`: every key of the plugin's ConfigDef.
pub fn config_def(def: &ConfigDef) -> Value {
    Value::Array(def.keys().iter().map(config_key).collect())
}

/// `ConfigInfos` of `PUT /connector-plugins/{plugin}/config/validate`; `recommended` holds
/// each key's recommended values (none for a key not in it).
pub fn config_infos(
    class: &str,
    def: &ConfigDef,
    reports: &[KeyReport],
    recommended: &BTreeMap<String, Vec<String>>,
) -> Value {
    let mut groups: Vec<String> = Vec::new();
    for k in def.keys() {
        if let Some(g) = &k.group {
            if !groups.contains(g) {
                groups.push(g.clone());
            }
        }
    }
    let configs: Vec<Value> = def
        .keys()
        .iter()
        .map(|k| {
            let report = reports.iter().find(|r| r.name == k.name);
            json!({
                "definition": config_key(k),
                "value": {
                    "name": k.name,
                    "value": report.and_then(|r| r.value.clone()),
                    "recommended_values": recommended.get(&k.name).cloned().unwrap_or_default(),
                    "errors": report.map(|r| r.errors.clone()).unwrap_or_default(),
                    "visible": true,
                },
            })
        })
        .collect();
    let error_count: usize = reports.iter().map(|r| r.errors.len()).sum();
    json!({"name": class, "error_count": error_count, "groups": groups, "configs": configs})
}
