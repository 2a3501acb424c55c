//! Task executors: the loops that move records between a task and Kafka.
//!
//! ```text
//!  source: SourceTask::poll ─▶ transforms ─▶ converters ─▶ producer ─▶ acks
//!                                                 submitted.rs: acked prefix per partition
//!                                                 ─▶ offset store every offset.flush.interval.ms
//!  sink:   consumer ─▶ converters ─▶ transforms ─▶ SinkTask::put ─▶ pre_commit ─▶ group commit
//! ```

pub mod errors;
pub mod sink;
pub mod source;
pub mod submitted;

use crate::convert::{Converter, HeaderConverter};
use crate::storage::OffsetFile;

/// A task's identity: connector name and task number (`<connector>-<n>` in logs).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId {
    /// The connector.
    pub connector: String,
    /// The task number.
    pub task: u32,
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.connector, self.task)
    }
}

/// The converters a task uses.
#[derive(Debug)]
pub struct Converters {
    /// Record keys.
    pub key: Box<dyn Converter>,
    /// Record values.
    pub value: Box<dyn Converter>,
    /// Header values.
    pub header: Box<dyn HeaderConverter>,
}

/// A record transformation step (the transform chain, or nothing).
pub trait RecordTransform<R>: Send {
    /// The transformed record; `None` drops it.
    fn apply(&mut self, record: R) -> Result<Option<R>, errors::StageError>;
    /// True when `apply` returns every record unchanged (the loops then skip a copy).
    fn is_identity(&self) -> bool {
        false
    }
}

/// No transforms.
#[derive(Debug, Default)]
pub struct Identity;

impl<R> RecordTransform<R> for Identity {
    fn apply(&mut self, record: R) -> Result<Option<R>, errors::StageError> {
        Ok(Some(record))
    }
    fn is_identity(&self) -> bool {
        true
    }
}

/// The configured SMT chain.
impl<R: crate::data::Record> RecordTransform<R> for crate::transforms::TransformChain<R> {
    fn apply(&mut self, record: R) -> Result<Option<R>, errors::StageError> {
        use crate::transforms::ChainError;
        crate::transforms::TransformChain::apply(self, record).map_err(|e| {
            let class = match &e {
                ChainError::Apply { class, .. } => class.clone(),
                _ => String::new(),
            };
            errors::StageError::data(errors::Stage::Transformation, class, e.to_string())
        })
    }
}

/// Where source offsets are kept.
#[async_trait::async_trait]
pub trait OffsetStore: Send + Sync {
    /// The stored value of a key.
    fn get(&self, key: &[u8]) -> Option<Vec<u8>>;
    /// Stores entries (None deletes) durably before returning.
    async fn put_all(&self, batch: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), String>;
}

/// The standalone worker's offsets file as an [`OffsetStore`].
#[async_trait::async_trait]
impl OffsetStore for std::sync::Mutex<OffsetFile> {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .map(<[u8]>::to_vec)
    }

    async fn put_all(&self, batch: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), String> {
        // A small file, written with fsync: fine on the caller's thread for a standalone worker.
        self.lock()
            .unwrap_or_else(|e| e.into_inner())
            .put_all(batch)
            .map_err(|e| e.to_string())
    }
}
