//! Test doubles of the runtime's contexts, shared by the connectors' unit tests.

use kaflow_runtime::connector::{
    ConnectError, ConnectorContext, OffsetReader, Props, SinkTaskContext, SourceTaskContext, TopicPartition,
};
use kaflow_runtime::data::SourceMap;

/// Props from pairs.
pub(crate) fn props(kv: &[(&str, &str)]) -> Props {
    kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// A source task context whose offset store holds `committed` for every partition.
pub(crate) struct SourceCtx {
    pub props: Props,
    pub committed: Option<SourceMap>,
}

impl OffsetReader for SourceCtx {
    fn offset(&self, _partition: &SourceMap) -> Option<SourceMap> {
        self.committed.clone()
    }
}

impl SourceTaskContext for SourceCtx {
    fn configs(&self) -> &Props {
        &self.props
    }
    fn offset_reader(&self) -> &dyn OffsetReader {
        self
    }
}

/// A connector context that ignores what it is asked.
pub(crate) struct NoConnectorCtx;

impl ConnectorContext for NoConnectorCtx {
    fn request_task_reconfiguration(&self) {}
    fn raise_error(&self, _error: ConnectError) {}
}

/// A sink task context with no assignment that ignores what it is asked.
pub(crate) struct SinkCtx {
    pub props: Props,
}

impl SinkTaskContext for SinkCtx {
    fn configs(&self) -> &Props {
        &self.props
    }
    fn assignment(&self) -> Vec<TopicPartition> {
        Vec::new()
    }
    fn reset_offset(&self, _tp: TopicPartition, _offset: i64) {}
    fn timeout(&self, _millis: u64) {}
    fn pause(&self, _partitions: &[TopicPartition]) {}
    fn resume(&self, _partitions: &[TopicPartition]) {}
    fn request_commit(&self) {}
}
