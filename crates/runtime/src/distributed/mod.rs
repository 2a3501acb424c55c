//! Distributed mode's foundation: the worker group protocol, the leader's assignor, the
//! internal topics' record formats and their creation. The distributed herder stands on these.
//!
//! ```text
//!             ┌──────────── Kafka ────────────────────────────────────────────────┐
//!             │ group coordinator (protocol type "connect")                        │
//!             │ config topic (1 partition)  status topic (5)  offsets topic (25)   │
//!             └──▲──────────────────────────────▲───────────────────▲──────────────┘
//!   JoinGroup/SyncGroup                  records in offset order      records
//!                │                               │                   │
//!  group.rs  WorkerGroupProtocol ◀── protocol.rs (metadata / assignment bytes)
//!                │  leader: assignor.rs (incremental cooperative, KIP-415)
//!                │          from the config snapshot ◀── config_topic.rs ConfigState
//!                ▼                                         (task configs apply at commit-X)
//!  herder (next): on_revoked / on_assigned ── start/stop connectors and tasks
//!                 writes status-* ── status_topic.rs     writes source offsets ── offsets.rs
//!
//!  internal_topics.rs: at start, create the three topics if missing (compacted, Connect's
//!  partition defaults) and refuse existing ones with the wrong partitions or cleanup policy.
//! ```
//!
//! Everything here speaks Kafka Connect 4.x's formats byte for byte, so kaflow and Java
//! workers read each other's topics and group metadata.

pub mod assignor;
pub mod config_topic;
pub mod group;
pub mod internal_topics;
pub mod offsets;
pub mod protocol;
mod record_json;
pub mod status_topic;

pub use record_json::ValueError;

pub use assignor::{Allocation, AssignorState};
pub use group::{LeaderSnapshot, WorkerGroupListener, WorkerGroupProtocol, WorkerGroupSettings};
pub use protocol::{ConnectAssignment, ConnectProtocolMode, TaskId, WorkerMetadata};
