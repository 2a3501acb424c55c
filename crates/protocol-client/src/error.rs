//! Errors of the client layers, and the outcome class every error carries.
//!
//! Each layer has its own `thiserror` enum ([`crate::net::ConnectionError`] for one connection,
//! [`Error`] for the client); every error answers [`Error::outcome`], the one question a caller
//! that holds data must ask: may the request have taken effect, and what must happen before
//! retrying? The classes follow the Java client's and librdkafka's handling (librdkafka calls the
//! second class `RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED`).

use crate::net::ConnectionError;
use kafka_protocol::error::ResponseError;
use std::sync::Arc;

/// What an error means for data the caller sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing took effect; sending the same request again is safe.
    Retriable,
    /// The request may or may not have taken effect (the connection died after the write, the
    /// broker timed out replicating, the client gave up while it was in flight). Retrying is safe
    /// only with idempotence; never report this as "not written".
    PossiblyPersisted,
    /// The producer's (id, epoch, sequence) state no longer matches the broker's: bump the epoch
    /// and reset sequences (KIP-360) before sending more to the partition.
    NeedsEpochBump,
    /// Retrying cannot help (bad config, authorization, fenced, corrupt data).
    Fatal,
}

/// A Kafka error code from a broker, with where it came from.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{api} from broker {broker}: {error}{}", .message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default())]
pub struct BrokerError {
    /// The decoded error code (`ResponseError::Unknown(code)` for codes newer than our codec).
    pub error: ResponseError,
    /// The API that answered, e.g. `Produce`.
    pub api: &'static str,
    /// The broker's node id, or -1 for a bootstrap connection.
    pub broker: i32,
    /// The broker's error message, when it sent one.
    pub message: Option<String>,
}

impl BrokerError {
    /// The numeric Kafka error code.
    pub fn code(&self) -> i16 {
        self.error.code()
    }

    /// Outcome class of a broker error code, as the Java client's retriable / fatal split has it,
    /// with the two codes that mean "the write may have happened" singled out.
    pub fn outcome(&self) -> Outcome {
        outcome_of_code(self.error.code())
    }
}

/// The outcome class of a Kafka error code.
pub fn outcome_of_code(code: i16) -> Outcome {
    match code {
        // REQUEST_TIMED_OUT (7): the leader may have appended and not heard back from followers
        // in time. NOT_ENOUGH_REPLICAS_AFTER_APPEND (20): appended to the leader, too few ISR.
        7 | 20 => Outcome::PossiblyPersisted,
        // OUT_OF_ORDER_SEQUENCE_NUMBER (45), UNKNOWN_PRODUCER_ID (59): sequence state diverged.
        45 | 59 => Outcome::NeedsEpochBump,
        _ => match ResponseError::try_from_code(code) {
            Some(e) if e.is_retriable() => Outcome::Retriable,
            // Codes newer than our codec: treat as fatal rather than loop forever on them.
            _ => Outcome::Fatal,
        },
    }
}

/// Errors of the client layer.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection to a broker failed or died.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// A broker answered with an error code.
    #[error(transparent)]
    Broker(#[from] BrokerError),
    /// No bootstrap server could be reached or none answered Metadata.
    #[error("could not bootstrap from {servers}: {last}")]
    Bootstrap {
        /// The configured `bootstrap.servers`.
        servers: String,
        /// The last error seen.
        last: Arc<Error>,
    },
    /// A configuration value is missing or invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The broker's answer didn't make sense (missing partition, unknown node, ...).
    #[error("invalid response to {api} from broker {broker}: {detail}")]
    InvalidResponse {
        /// The API that answered.
        api: &'static str,
        /// The broker's node id.
        broker: i32,
        /// What was wrong.
        detail: String,
    },
    /// The topic or partition doesn't exist (after metadata refreshes).
    #[error("unknown topic or partition: {0}")]
    UnknownTopicOrPartition(String),
    /// An operation didn't finish in time.
    #[error("timed out after {millis} ms: {what}")]
    Timeout {
        /// What was being waited for.
        what: String,
        /// The limit that passed.
        millis: u64,
    },
    /// The client was closed.
    #[error("client is closed")]
    Closed,
    /// A consumer error.
    #[error(transparent)]
    Consumer(#[from] crate::consumer::ConsumerError),
    /// A group membership error.
    #[error(transparent)]
    Group(#[from] crate::group::GroupError),
    /// A transactional producer error.
    #[error(transparent)]
    Transaction(#[from] crate::producer::TransactionError),
}

impl Error {
    /// The outcome class of this error (see [`Outcome`]).
    pub fn outcome(&self) -> Outcome {
        match self {
            Error::Connection(e) => e.outcome(),
            Error::Broker(e) => e.outcome(),
            Error::Bootstrap { .. } | Error::UnknownTopicOrPartition(_) | Error::Timeout { .. } => {
                Outcome::Retriable
            }
            Error::Config(_)
            | Error::InvalidResponse { .. }
            | Error::Closed
            | Error::Consumer(_)
            | Error::Group(_)
            | Error::Transaction(_) => Outcome::Fatal,
        }
    }

    /// The Kafka error code, when a broker sent one.
    pub fn code(&self) -> Option<i16> {
        match self {
            Error::Broker(e) => Some(e.code()),
            _ => None,
        }
    }
}

/// `Result` with the client's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_outcomes() {
        assert_eq!(outcome_of_code(6), Outcome::Retriable); // NOT_LEADER_OR_FOLLOWER
        assert_eq!(outcome_of_code(7), Outcome::PossiblyPersisted); // REQUEST_TIMED_OUT
        assert_eq!(outcome_of_code(19), Outcome::Retriable); // NOT_ENOUGH_REPLICAS: rejected before append
        assert_eq!(outcome_of_code(20), Outcome::PossiblyPersisted);
        assert_eq!(outcome_of_code(45), Outcome::NeedsEpochBump);
        assert_eq!(outcome_of_code(59), Outcome::NeedsEpochBump);
        assert_eq!(outcome_of_code(47), Outcome::Fatal); // INVALID_PRODUCER_EPOCH
        assert_eq!(outcome_of_code(90), Outcome::Fatal); // PRODUCER_FENCED
        assert_eq!(outcome_of_code(10), Outcome::Fatal); // MESSAGE_TOO_LARGE
        assert_eq!(outcome_of_code(29), Outcome::Fatal); // TOPIC_AUTHORIZATION_FAILED
        assert_eq!(outcome_of_code(3), Outcome::Retriable); // UNKNOWN_TOPIC_OR_PARTITION
        assert_eq!(outcome_of_code(32_000), Outcome::Fatal);
    }
}
