//! Group membership (classic protocol): coordinator, join/sync/heartbeat/leave, assignors,
//! offset commit and fetch. Generic over the protocol type so distributed mode reuses it.
//!
//! Work in progress (issue 4).

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
}
