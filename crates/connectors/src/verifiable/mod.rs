//! VerifiableSource and VerifiableSink, after Kafka's `org.apache.kafka.connect.tools` pair
//! used by its system tests: each source task emits consecutive sequence numbers (key: the
//! task, value: the seqno; partition `{"id": T}`, offset `{"seqno": N}`, as Kafka's), and the
//! sink writes one JSON line per record it is given, durably before the offsets are committed,
//! so [`check`] can prove from the file alone that nothing was lost and count the duplicates.
//!
//! ```text
//!  VerifiableSource ─▶ topic ─▶ VerifiableSink ─▶ file (JSON lines) ─▶ check / kaflow verify-sink
//!  key=task, value=seqno                          {"task","seqno","topic","partition","offset",...}
//! ```

pub mod check;
pub mod sink;
pub mod source;

pub use sink::{VerifiableSinkConnector, VerifiableSinkTask};
pub use source::{VerifiableSourceConnector, VerifiableSourceTask};

/// The key both connectors use for the task number the connector assigns (Kafka's `id`).
pub const ID: &str = "id";

/// The `id` key's definition, shared by both connectors.
fn id_key() -> kaflow_runtime::config::ConfigKey {
    use kaflow_runtime::config::{ConfigKey, ConfigType, Importance, Validator};
    ConfigKey::new(
        ID,
        ConfigType::Int,
        Some("0"),
        Importance::Low,
        "The task number, set by the connector for each task",
    )
    .validate(Validator::at_least(0))
}
