//! Task executors: the loops that move records between a task and Kafka.
//!
//! ```text
//!  source: SourceTask::poll ─▶ transforms ─▶ converters ─▶ producer ─▶ acks
//!                                                 submitted.rs: acked prefix per partition
//!                                                 ─▶ offset store every offset.flush.interval.ms
//!  sink:   consumer ─▶ converters ─▶ transforms ─▶ SinkTask::put ─▶ pre_commit ─▶ group commit
//! ```

pub mod submitted;
