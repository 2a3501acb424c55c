//! The consumer: fetching (KIP-227 fetch sessions), positions, assign/subscribe, pause/resume.
//!
//! Work in progress (issue 4).

/// Errors of the consumer layer.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConsumerError {
    /// The consumer was used in a way its state doesn't allow.
    #[error("invalid consumer state: {0}")]
    InvalidState(String),
}
