//! What a herder reports about its connectors: Connect's `ConnectorInfo`, `ConnectorStateInfo`
//! and target states, independent of how they are served (REST renders them as JSON).

use super::status::State;
use crate::worker::TaskId;
use std::collections::BTreeMap;

/// Whether a connector brings records in or takes them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorType {
    /// A source connector.
    Source,
    /// A sink connector.
    Sink,
}

impl ConnectorType {
    /// Connect's lower-case name (`"source"`, `"sink"`).
    pub fn name(self) -> &'static str {
        match self {
            ConnectorType::Source => "source",
            ConnectorType::Sink => "sink",
        }
    }
}

/// The state an operator asked a connector to be in (Connect's `TargetState`, KIP-875).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    /// Connector and tasks run.
    Started,
    /// Tasks keep their slots but move no records.
    Paused,
    /// Connector and tasks shut down; no task slots (offsets may be altered).
    Stopped,
}

impl TargetState {
    /// Parses `initial_state` of a create request (KIP-980): RUNNING, PAUSED or STOPPED.
    pub fn from_initial_state(s: &str) -> Option<Self> {
        match s {
            "RUNNING" => Some(TargetState::Started),
            "PAUSED" => Some(TargetState::Paused),
            "STOPPED" => Some(TargetState::Stopped),
            _ => None,
        }
    }
}

/// `GET /connectors/{name}`: the config (passwords hidden) and the task ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorInfo {
    /// The connector's name.
    pub name: String,
    /// Its config; values of PASSWORD keys read `[hidden]`.
    pub config: BTreeMap<String, String>,
    /// Its tasks.
    pub tasks: Vec<TaskId>,
    /// Source or sink.
    pub kind: ConnectorType,
}

/// One state line: connector or task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateInfo {
    /// The state.
    pub state: State,
    /// The worker it runs on (`host:port` of its REST listener).
    pub worker_id: String,
    /// Why it failed, when it did.
    pub trace: Option<String>,
    /// The connector plugin's version (KIP-891: Connect 4.x reports it for the connector and
    /// each task).
    pub version: Option<String>,
}

/// `GET /connectors/{name}/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorStatus {
    /// The connector's name.
    pub name: String,
    /// The connector's own state.
    pub connector: StateInfo,
    /// Each task's state, by task number.
    pub tasks: Vec<(u32, StateInfo)>,
    /// Source or sink.
    pub kind: ConnectorType,
}
