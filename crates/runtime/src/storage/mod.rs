//! Where the runtime keeps state: source offsets (a file in standalone mode, a topic in
//! distributed mode), connector configs and statuses.
//!
//! ```text
//!  source task ──offsets (JSON key/value bytes, Connect's format)──▶ OffsetStore
//!                                                                      ├─ OffsetFile   (standalone)
//!                                                                      └─ OffsetTopic  (distributed)
//!                                                                          on a KafkaLog
//! ```
//!
//! Offsets are stored as the bytes Connect writes to its offsets topic: the key
//! `["<connector>",{<source partition>}]` and the value `{<source offset>}` as compact JSON,
//! so a store's content can move between kaflow and Kafka Connect.

pub mod java_offsets;
pub mod kafka_log;
pub mod offset_codec;
pub mod offset_file;
pub mod offset_topic;

pub use offset_file::{OffsetFile, StorageError};
