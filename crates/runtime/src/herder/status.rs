//! Connector and task states, as Connect reports them (`AbstractStatus.State`).

/// A connector's or task's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not yet running anywhere.
    Unassigned,
    /// Running.
    Running,
    /// Paused.
    Paused,
    /// Stopped (KIP-875).
    Stopped,
    /// Failed; see the trace.
    Failed,
    /// Being restarted.
    Restarting,
}

impl State {
    /// Every state.
    pub const ALL: [State; 6] = [
        State::Unassigned,
        State::Running,
        State::Paused,
        State::Stopped,
        State::Failed,
        State::Restarting,
    ];

    /// The state with Connect's upper-case `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Connect's upper-case name.
    pub fn name(self) -> &'static str {
        match self {
            State::Unassigned => "UNASSIGNED",
            State::Running => "RUNNING",
            State::Paused => "PAUSED",
            State::Stopped => "STOPPED",
            State::Failed => "FAILED",
            State::Restarting => "RESTARTING",
        }
    }
}

/// A task's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskStatus {
    /// The state.
    pub state: State,
    /// Why it failed, when it did.
    pub trace: Option<String>,
}
