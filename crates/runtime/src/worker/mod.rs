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

/// The topics a connector's tasks have used (KIP-558 "active topics"): a source's records were
/// written to them, a sink's were read from them. Shared by a connector's tasks; reset through
/// `PUT /connectors/{name}/topics/reset`.
#[derive(Debug, Default)]
pub struct ActiveTopics {
    topics: std::sync::Mutex<std::collections::BTreeSet<String>>,
    /// Bumped by a reset, so each task's local cache starts over.
    generation: std::sync::atomic::AtomicU64,
}

/// A task's local view of [`ActiveTopics`], so the per-record check takes no lock.
#[derive(Debug, Default)]
pub struct SeenTopics {
    generation: u64,
    /// The topic of the previous record: most records go where the one before went, so the
    /// per-record check is one string compare.
    last: String,
    topics: std::collections::HashSet<String>,
}

impl ActiveTopics {
    /// Notes that a task used `topic`.
    pub fn note(&self, seen: &mut SeenTopics, topic: &str) {
        use std::sync::atomic::Ordering::Acquire;
        let generation = self.generation.load(Acquire);
        if seen.generation == generation && seen.last == topic {
            return;
        }
        if seen.generation != generation {
            seen.topics.clear();
            seen.generation = generation;
        }
        seen.last.clear();
        seen.last.push_str(topic);
        if !seen.topics.contains(topic) {
            seen.topics.insert(topic.to_string());
            self.topics
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(topic.to_string());
        }
    }

    /// The topics noted since the last reset, sorted.
    pub fn topics(&self) -> Vec<String> {
        self.topics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Forgets every topic.
    pub fn reset(&self) {
        self.topics.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_topics_are_noted_once_and_noted_again_after_a_reset() {
        let active = ActiveTopics::default();
        let (mut a, mut b) = (SeenTopics::default(), SeenTopics::default());
        active.note(&mut a, "t1");
        active.note(&mut a, "t1");
        active.note(&mut b, "t2");
        active.note(&mut a, "t1");
        assert_eq!(active.topics(), ["t1", "t2"]);
        active.reset();
        assert!(active.topics().is_empty());
        // The same topic as the task's previous record is noted again after a reset.
        active.note(&mut a, "t1");
        assert_eq!(active.topics(), ["t1"]);
    }
}
