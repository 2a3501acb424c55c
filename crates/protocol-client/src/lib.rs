//! kaflow-client: kaflow's async Kafka wire client.
//!
//! ```text
//!  Producer / Admin (/ Consumer)          client API, Kafka's config key names
//!        │
//!  Cluster: metadata cache + brokers      leader lookup, one handle per broker,
//!        │                                separate connections per traffic class
//!  net::Connection                        framing, correlation ids, pipelining, poison-on-death
//!        │
//!  kafka-protocol codecs                  request/response messages; record batches are ours
//! ```
//!
//! Every request version is negotiated with the broker through ApiVersions ([`versions`]):
//! nothing hard-codes a version (Kafka 4 removed the old ones, KIP-896).

pub mod admin;
pub mod broker;
pub mod cluster;
pub mod compression;
pub mod config;
pub mod consumer;
pub mod error;
pub mod group;
pub mod metadata;
pub mod metrics;
pub mod net;
pub mod producer;
pub mod protocol;
pub mod records;
pub mod versions;

pub use config::{ClientConfig, ConfigError, Properties};
pub use error::{Error, Outcome, Result};
