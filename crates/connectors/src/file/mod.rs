//! FileStreamSource and FileStreamSink: Kafka's example connectors, with Kafka's class names,
//! keys (`file`, `topic`/`topics`, `batch.size`) and offsets (`{"filename"}` → `{"position"}`).

pub mod line_reader;
pub mod sink;
pub mod source;

pub use sink::{FileStreamSinkConnector, FileStreamSinkTask};
pub use source::{FileStreamSourceConnector, FileStreamSourceTask};
