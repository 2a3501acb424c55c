//! kaflow-runtime: the Kafka Connect compatible runtime (workers, herders, converters,
//! transforms, REST). It arrives with the runtime issue; this crate is its place in the workspace.

pub mod config;
pub mod connector;
pub mod convert;
pub mod data;
pub mod distributed;
pub mod herder;
pub mod plugins;
pub mod rest;
pub mod storage;
pub mod transforms;
pub mod worker;

/// The Kafka Connect version whose REST API, configs and formats kaflow follows.
pub const CONNECT_COMPAT_VERSION: &str = "4.3.1";
