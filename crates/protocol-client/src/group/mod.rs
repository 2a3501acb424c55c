//! Group membership (classic protocol): coordinator lookup, join/sync/heartbeat/leave, assignors,
//! offset commit and fetch. The membership engine is generic over the protocol type, so consumer
//! groups (`consumer`) and Connect's distributed workers (`connect`) share it.
//!
//! ```text
//!  FindCoordinator(GROUP) ──▶ coordinator broker (own Traffic::Group connection per member)
//!        │
//!  Membership<P: GroupProtocol>  (one task per member)
//!        │  P::on_join_prepare ─ eager consumer: revoke everything (caller commits first)
//!        │  JoinGroup ─ MEMBER_ID_REQUIRED: rejoin with the given id (KIP-394)
//!        │  leader? ─ P::assign(members' metadata bytes) ─▶ assignment bytes per member
//!        │  SyncGroup ─▶ this member's assignment bytes
//!        │  P::on_join_complete ─ cooperative consumer: revoke the moved subset, rejoin (KIP-429)
//!        ▼
//!  heartbeat task every heartbeat.interval.ms ── REBALANCE_IN_PROGRESS ─▶ rejoin
//!                                           ── UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION ─▶ lost, rejoin
//!                                           ── FENCED_INSTANCE_ID ─▶ fatal (KIP-345)
//!  commit(offsets) ─ OffsetCommit with generation, member id, group.instance.id
//!  close ─ P::on_close (revoke), LeaveGroup (dynamic members only, as Java)
//! ```
//!
//! [`ConsumerGroup`] is the consumer protocol on top: Kafka's ConsumerProtocolSubscription /
//! ConsumerProtocolAssignment bytes ([`consumer_protocol`]), the `range`, `roundrobin` and
//! `cooperative-sticky` assignors ([`assignor`]), and rebalance callbacks
//! ([`RebalanceListener`]). [`offsets`] commits and fetches offsets, with or without membership.

pub mod assignor;
mod config;
pub mod consumer;
pub mod consumer_protocol;
pub mod coordinator;
pub mod membership;
pub mod offsets;

pub use config::GroupConfig;
pub use consumer::{Committer, ConsumerGroup, GroupAssignment, RebalanceEvent, RebalanceListener};
pub use coordinator::Coordinator;
pub use membership::{
    Generation, GroupProtocol, JoinGroupMember, JoinedMember, MemberHandle, MemberState, Membership,
};
pub use offsets::{delete_group, delete_offsets, fetch_committed, CommitAs, OffsetAndMetadata};

use kafka_protocol::error::ResponseError;

/// A topic partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
}

impl TopicPartition {
    /// `topic`-`partition`.
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        Self {
            topic: topic.into(),
            partition,
        }
    }
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// Errors of the group layer.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum GroupError {
    /// This member was fenced or removed from the group.
    #[error("member fenced from group {group}: {detail}")]
    Fenced {
        /// The group id.
        group: String,
        /// Why.
        detail: String,
    },
    /// An offset commit was refused because this member's generation is no longer the group's
    /// (Java's `CommitFailedException` / `RebalanceInProgressException`). The partitions may
    /// have moved: the caller must not assume the offsets are committed, and should commit
    /// again (if it still owns the partitions) after the rebalance completes.
    #[error("offset commit for group {group} at generation {generation} failed: {error} (the group rebalanced; commit again from the new generation if the partitions are still owned)")]
    CommitFailed {
        /// The group id.
        group: String,
        /// The generation the commit carried (-1: none).
        generation: i32,
        /// REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION or UNKNOWN_MEMBER_ID.
        error: ResponseError,
    },
    /// The member has no current generation (not joined yet, or rejoining) for a commit that
    /// needs one.
    #[error("group {group}: this member has not joined a generation yet")]
    NotJoined {
        /// The group id.
        group: String,
    },
    /// Member metadata or an assignment could not be decoded or built.
    #[error("group {group}: invalid {what}: {detail}")]
    Protocol {
        /// The group id.
        group: String,
        /// What was invalid (`subscription of member m-1`, `assignment`, ...).
        what: String,
        /// Why.
        detail: String,
    },
    /// The assignor failed or the chosen protocol is not one this member offered.
    #[error("group {group}: assignment failed: {detail}")]
    Assignment {
        /// The group id.
        group: String,
        /// Why.
        detail: String,
    },
    /// The membership was closed.
    #[error("group {group}: membership closed")]
    Closed {
        /// The group id.
        group: String,
    },
}

/// Error codes the group coordinator answers with.
pub(crate) mod codes {
    pub const NONE: i16 = 0;
    pub const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
    pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
    pub const NOT_COORDINATOR: i16 = 16;
    pub const ILLEGAL_GENERATION: i16 = 22;
    pub const UNKNOWN_MEMBER_ID: i16 = 25;
    pub const REBALANCE_IN_PROGRESS: i16 = 27;
    pub const MEMBER_ID_REQUIRED: i16 = 79;
    pub const FENCED_INSTANCE_ID: i16 = 82;

    /// The coordinator moved or isn't ready: find it again and retry (Java's
    /// `markCoordinatorUnknown` for NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE; a loading
    /// coordinator is retried where it is).
    pub fn coordinator_moved(code: i16) -> bool {
        matches!(code, COORDINATOR_NOT_AVAILABLE | NOT_COORDINATOR)
    }
}

pub(crate) fn response_error(code: i16) -> ResponseError {
    ResponseError::try_from_code(code).unwrap_or(ResponseError::Unknown(code))
}
