//! `io.kaflow.connect.datagen.DatagenSourceConnector`: `tasks.max` tasks, each generating
//! sequence numbers 0, 1, 2, … (up to `max.messages`) at `messages.per.second`.
//!
//! ```text
//!  start: committed {"seq": N} for {"task": T}? ─▶ next = N + 1, else 0
//!  poll:  next == max.messages ─▶ idle (nothing; the task stays RUNNING, as Confluent's)
//!         else throttle ─▶ records next .. next+k, each with offset {"seq": its seq}
//! ```
//! A record's contents depend only on (task, seq) (see [`super::generator`]), so records
//! re-sent after a crash (those past the last committed offset) are identical to the first.

use super::config::{config_def, DatagenConfig, TASK_ID};
use super::generator::Generator;
use crate::sequence::{next_after, now_ms, Sequence};
use kaflow_runtime::connector::{ConnectError, ConnectResult, Props, SourceTask, SourceTaskContext};
use kaflow_runtime::data::{SourceMap, SourceRecord, Value};
use std::sync::Arc;

/// kaflow's class name.
pub const CLASS: &str = "io.kaflow.connect.datagen.DatagenSourceConnector";

crate::numbered::numbered_connector!(
    /// The connector: one task configuration per `tasks.max`, each with its `task.id`.
    Source DatagenSourceConnector, config_def, TASK_ID, DatagenSourceTask
);

/// The source partition of task `task`.
pub fn source_partition(task: u32) -> SourceMap {
    SourceMap::from([("task".to_string(), Value::Int32(task as i32))])
}

/// A task: one sequence.
#[derive(Debug, Default)]
pub struct DatagenSourceTask {
    state: Option<Running>,
}

#[derive(Debug)]
struct Running {
    cfg: DatagenConfig,
    generator: Generator,
    partition: SourceMap,
    seq: Sequence,
}

#[async_trait::async_trait]
impl SourceTask for DatagenSourceTask {
    async fn start(&mut self, props: Props, ctx: Arc<dyn SourceTaskContext>) -> ConnectResult<()> {
        let cfg = DatagenConfig::parse(&props)?;
        let partition = source_partition(cfg.task);
        let committed = ctx.offset_reader().offset(&partition);
        let next = next_after(committed.as_ref(), "seq")?;
        tracing::info!(task = cfg.task, topic = %cfg.topic, next, "datagen task starting");
        self.state = Some(Running {
            generator: Generator::new(&cfg),
            seq: Sequence::new(
                next,
                cfg.max_messages,
                cfg.batch_size as u64,
                cfg.messages_per_second.unwrap_or(-1.0),
            ),
            partition,
            cfg,
        });
        Ok(())
    }

    async fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        let Some(s) = self.state.as_mut() else {
            return Err(ConnectError::Failed("datagen task polled before start".into()));
        };
        let range = s.seq.take().await;
        let now = now_ms();
        let records = range
            .map(|seq| {
                let g = s.generator.record(seq);
                let offset = SourceMap::from([("seq".to_string(), Value::Int64(seq as i64))]);
                let mut r = SourceRecord::new(
                    s.partition.clone(),
                    offset,
                    s.cfg.topic.clone(),
                    Some(g.value_schema),
                    g.value,
                );
                r.record.key_schema = g.key_schema;
                r.record.key = g.key;
                r.record.timestamp = Some(now);
                r
            })
            .collect();
        Ok(records)
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        self.state = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{props, NoConnectorCtx, SourceCtx};
    use kaflow_runtime::connector::Connector;

    async fn run(committed: Option<Value>) -> Vec<SourceRecord> {
        let props = props(&[
            ("topic", "t"),
            ("max.messages", "25"),
            ("batch.size", "10"),
            ("task.id", "1"),
        ]);
        let committed = committed.map(|v| SourceMap::from([("seq".to_string(), v)]));
        let mut task = DatagenSourceTask::default();
        task.start(props.clone(), Arc::new(SourceCtx { props, committed }))
            .await
            .unwrap();
        let mut out = Vec::new();
        loop {
            let got = task.poll().await.unwrap();
            assert!(got.len() <= 10, "batch.size caps a poll");
            if got.is_empty() {
                // Idle, and stays idle.
                assert!(task.poll().await.unwrap().is_empty());
                task.stop().await.unwrap();
                return out;
            }
            out.extend(got);
        }
    }

    fn seqs(records: &[SourceRecord]) -> Vec<i64> {
        records
            .iter()
            .map(|r| match r.source_offset["seq"] {
                Value::Int64(n) => n,
                ref other => panic!("{other:?}"),
            })
            .collect()
    }

    #[tokio::test]
    async fn sends_max_messages_then_idles_and_resumes_after_the_committed_seq() {
        let all = run(None).await;
        assert_eq!(seqs(&all), (0..25).collect::<Vec<_>>());
        assert!(all.iter().all(|r| r.source_partition == source_partition(1)));
        assert!(all.iter().all(|r| r.record.topic == "t"));

        let resumed = run(Some(Value::Int64(19))).await;
        assert_eq!(seqs(&resumed), (20..25).collect::<Vec<_>>());
        assert_eq!(resumed[0], {
            let mut r = all[20].clone();
            r.record.timestamp = resumed[0].record.timestamp;
            r
        });
        // The offset store may hand small numbers back as INT32.
        assert_eq!(seqs(&run(Some(Value::Int32(23))).await), [24]);
        assert!(run(Some(Value::Int64(24))).await.is_empty());
    }

    #[tokio::test]
    async fn the_connector_gives_each_task_its_number() {
        let mut c = DatagenSourceConnector::default();
        let props = Props::from([("topic".to_string(), "t".to_string())]);
        c.start(props, Arc::new(NoConnectorCtx)).await.unwrap();
        let tasks = c.task_configs(3).await.unwrap();
        let ids: Vec<_> = tasks.iter().map(|p| p[TASK_ID].as_str()).collect();
        assert_eq!(ids, ["0", "1", "2"]);
        assert!(tasks.iter().all(|p| p["topic"] == "t"));
        let bad = c.start(Props::new(), Arc::new(NoConnectorCtx)).await.unwrap_err();
        assert!(matches!(bad, ConnectError::Config(_)), "{bad}");
    }
}
