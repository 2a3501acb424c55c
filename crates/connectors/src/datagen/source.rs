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
use crate::throttle::Throttle;
use kaflow_runtime::config::ConfigDef;
use kaflow_runtime::connector::{
    ConnectError, ConnectResult, Connector, ConnectorContext, Props, SourceConnector, SourceTask,
    SourceTaskContext,
};
use kaflow_runtime::data::{SourceMap, SourceRecord, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// kaflow's class name.
pub const CLASS: &str = "io.kaflow.connect.datagen.DatagenSourceConnector";
/// How long an idle poll (every record sent) waits before returning nothing.
const IDLE_WAIT: Duration = Duration::from_millis(200);

/// The connector: one task configuration per `tasks.max`, each with its `task.id`.
#[derive(Debug, Default)]
pub struct DatagenSourceConnector {
    props: Props,
}

#[async_trait::async_trait]
impl Connector for DatagenSourceConnector {
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }

    fn config(&self) -> ConfigDef {
        config_def()
    }

    async fn start(&mut self, props: Props, _ctx: Arc<dyn ConnectorContext>) -> ConnectResult<()> {
        DatagenConfig::parse(&props)?;
        self.props = props;
        Ok(())
    }

    async fn task_configs(&mut self, max_tasks: usize) -> ConnectResult<Vec<Props>> {
        Ok((0..max_tasks.max(1))
            .map(|i| {
                let mut p = self.props.clone();
                p.insert(TASK_ID.to_string(), i.to_string());
                p
            })
            .collect())
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}

impl SourceConnector for DatagenSourceConnector {
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::<DatagenSourceTask>::default()
    }
}

/// The source partition of task `task`.
pub fn source_partition(task: u32) -> SourceMap {
    SourceMap::from([("task".to_string(), Value::Int32(task as i32))])
}

/// The sequence number after a committed offset `{"seq": N}`; 0 with none.
/// The offset store hands numbers back as INT32 or INT64 depending on their size.
pub(crate) fn next_after(committed: Option<&SourceMap>, field: &str) -> ConnectResult<u64> {
    match committed.and_then(|o| o.get(field)) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Int64(n)) if *n >= 0 => Ok(*n as u64 + 1),
        Some(Value::Int32(n)) if *n >= 0 => Ok(*n as u64 + 1),
        Some(other) => Err(ConnectError::Failed(format!(
            "committed offset field \"{field}\" is not a sequence number: {other:?}"
        ))),
    }
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
    next: u64,
    throttle: Throttle,
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
            throttle: Throttle::new(cfg.messages_per_second.unwrap_or(-1.0), Instant::now()),
            partition,
            next,
            cfg,
        });
        Ok(())
    }

    async fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        let Some(s) = self.state.as_mut() else {
            return Err(ConnectError::Failed("datagen task polled before start".into()));
        };
        let remaining = s
            .cfg
            .max_messages
            .map_or(u64::MAX, |max| max.saturating_sub(s.next));
        if remaining == 0 {
            tokio::time::sleep(IDLE_WAIT).await;
            return Ok(Vec::new());
        }
        let want = remaining.min(s.cfg.batch_size as u64);
        let n = s.throttle.acquire(want).await;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let records = (s.next..s.next + n)
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
        s.next += n;
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

    #[test]
    fn a_corrupt_committed_offset_fails_rather_than_restarting_from_zero() {
        let bad = SourceMap::from([("seq".to_string(), Value::string("x"))]);
        assert!(next_after(Some(&bad), "seq").is_err());
        let negative = SourceMap::from([("seq".to_string(), Value::Int64(-1))]);
        assert!(next_after(Some(&negative), "seq").is_err());
    }
}
