//! What the REST API asks of a herder, whichever it is: Connect's `Herder` interface.
//!
//! ```text
//!  rest::routes ──▶ Arc<tokio::Mutex<dyn Herder>> ──▶ StandaloneWorker   (everything here)
//!                                                 └─▶ distributed herder (configs in Kafka,
//!                                                      work spread over the worker group)
//! ```
//!
//! Reads copy state out under the lock and return; writes may await Kafka (an offsets commit,
//! a config-topic write) while holding it, which serialises them as Connect's herder thread does.

use super::standalone::{StandaloneError, TaskMetrics};
use super::view::{ConnectorInfo, ConnectorStatus, TargetState};
use crate::config::Parsed;
use crate::connector::Props;
use crate::plugins::Plugins;
use crate::worker::TaskId;
use kaflow_client::cluster::Cluster;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The errors a herder answers with (mapped to Connect's REST error codes in `rest::error`).
pub type HerderError = StandaloneError;

/// A herder as the REST API sees it. Names and semantics are those of the REST endpoints.
#[async_trait::async_trait]
pub trait Herder: Send {
    /// The worker's parsed config.
    fn worker_config(&self) -> &Parsed;
    /// The plugins this worker has.
    fn plugins(&self) -> &Plugins;
    /// The worker's Kafka cluster handle.
    fn cluster(&self) -> &Arc<Cluster>;
    /// Every connector's name, sorted.
    fn connector_names(&self) -> Vec<String>;
    /// A connector's config (passwords hidden) and tasks.
    fn info(&self, name: &str) -> Result<ConnectorInfo, HerderError>;
    /// A connector's config as stored (passwords included; never served as is).
    fn raw_config(&self, name: &str) -> Result<BTreeMap<String, String>, HerderError>;
    /// A connector's and its tasks' states.
    fn status(&self, name: &str) -> Result<ConnectorStatus, HerderError>;
    /// Each task's config (passwords hidden).
    fn task_configs(&self, name: &str) -> Result<Vec<(TaskId, Props)>, HerderError>;
    /// The topics the connector's tasks have used (KIP-558).
    fn active_topics(&self, name: &str) -> Result<Vec<String>, HerderError>;
    /// Forgets the connector's active topics (KIP-558).
    fn reset_active_topics(&self, name: &str) -> Result<(), HerderError>;
    /// Every task's counters, for `/metrics`.
    fn task_metrics(&self) -> Vec<TaskMetrics>;
    /// The live Kafka clients' metrics, for `/metrics` (none when the herder keeps no registry).
    fn client_metrics(&self) -> Vec<kaflow_client::metrics::ClientSnapshot> {
        Vec::new()
    }

    /// Creates a connector in `target` state.
    async fn create_connector(
        &mut self,
        name: &str,
        config: BTreeMap<String, String>,
        target: TargetState,
    ) -> Result<ConnectorInfo, HerderError>;
    /// Creates or replaces a connector's config; `true` when it was created.
    async fn put_config(
        &mut self,
        name: &str,
        config: BTreeMap<String, String>,
    ) -> Result<(bool, ConnectorInfo), HerderError>;
    /// Deletes a connector.
    async fn delete_connector(&mut self, name: &str) -> Result<(), HerderError>;
    /// Pauses a connector and its tasks.
    async fn pause_connector(&mut self, name: &str) -> Result<(), HerderError>;
    /// Resumes a paused or stopped connector.
    async fn resume_connector(&mut self, name: &str) -> Result<(), HerderError>;
    /// Stops a connector and its tasks (KIP-875).
    async fn stop_connector(&mut self, name: &str) -> Result<(), HerderError>;
    /// Restarts a connector, and maybe its (failed) tasks (KIP-745).
    async fn restart_connector(
        &mut self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<(), HerderError>;
    /// Restarts one task.
    async fn restart_task(&mut self, name: &str, n: u32) -> Result<(), HerderError>;
    /// A connector's offsets (KIP-875): (partition, offset) pairs.
    async fn offsets(&mut self, name: &str) -> Result<Vec<(Value, Value)>, HerderError>;
    /// Alters a stopped connector's offsets (a `None` offset removes the partition's).
    async fn alter_offsets(
        &mut self,
        name: &str,
        entries: Vec<(Value, Option<Value>)>,
    ) -> Result<(), HerderError>;
    /// Resets a stopped connector's offsets.
    async fn reset_offsets(&mut self, name: &str) -> Result<(), HerderError>;
}
