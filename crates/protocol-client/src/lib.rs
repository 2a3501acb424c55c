//! kaflow-client: kaflow's async Kafka wire client.
//!
//! ```text
//!  Producer / Consumer / Admin            (client API, Kafka's config key names)
//!        │
//!  metadata cache ─ broker handles        (leader lookup, one handle per broker)
//!        │
//!  net: one connection per traffic class  (framing, correlation ids, pipelining, poison-on-death)
//!        │
//!  kafka-protocol codecs                  (request/response messages; record batches are ours)
//! ```
//!
//! Layers are built issue by issue; [`versions`] lists the Kafka APIs the client is built to speak
//! and the version ranges its codecs cover. Every request version is negotiated with the broker
//! through ApiVersions: nothing hard-codes a version (Kafka 4 removed the old ones, KIP-896).

pub mod versions;
