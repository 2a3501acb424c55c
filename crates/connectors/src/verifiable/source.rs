//! `io.kaflow.connect.verifiable.VerifiableSourceConnector`: Kafka's VerifiableSourceTask —
//! keys `topic`, `throughput`, `id` (set per task), `complete.record.data` — plus kaflow's
//! `max.messages` bound so a test knows when every record was sent.
//!
//! Task T's records: key INT32 T, value INT64 seqno (or, with `complete.record.data`, a struct
//! `{name, task, topic, time_ms, seqno}`), source partition `{"id": T}` and offset
//! `{"seqno": N}` — Kafka's layout, so offsets carry over from a Kafka Connect deployment.
//! A restarted task continues at the committed seqno + 1.

use super::ID;
use crate::sequence::{next_after, now_ms, Sequence};
use kaflow_runtime::config::{ConfigDef, ConfigKey, ConfigType, Importance, Validator};
use kaflow_runtime::connector::{ConnectError, ConnectResult, Props, SourceTask, SourceTaskContext};
use kaflow_runtime::data::{Schema, SchemaBuilder, SourceMap, SourceRecord, Struct, Value};
use std::sync::Arc;

/// kaflow's class name.
pub const CLASS: &str = "io.kaflow.connect.verifiable.VerifiableSourceConnector";
const TOPIC: &str = "topic";
const THROUGHPUT: &str = "throughput";
const MAX_MESSAGES: &str = "max.messages";
const COMPLETE_RECORD_DATA: &str = "complete.record.data";
const BATCH_SIZE: &str = "batch.size";
/// The source partition's field (Kafka's `ID_FIELD`).
pub const ID_FIELD: &str = "id";
/// The source offset's field (Kafka's `SEQNO_FIELD`).
pub const SEQNO_FIELD: &str = "seqno";

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::required(TOPIC, ConfigType::String, Importance::High, "The topic to write to")
                .validate(Validator::NonEmptyString),
        )
        .define(ConfigKey::new(
            THROUGHPUT,
            ConfigType::Long,
            Some("-1"),
            Importance::High,
            "Records per second each task sends; -1 (or any value below 1) for no limit",
        ))
        .define(
            ConfigKey::new(
                MAX_MESSAGES,
                ConfigType::Long,
                Some("-1"),
                Importance::Medium,
                "kaflow: records each task sends (seqno 0 .. max.messages-1) before it idles; -1 for no limit",
            )
            .validate(Validator::at_least(-1)),
        )
        .define(ConfigKey::new(
            COMPLETE_RECORD_DATA,
            ConfigType::Boolean,
            Some("false"),
            Importance::Low,
            "Send a struct {name, task, topic, time_ms, seqno} as the value instead of the bare seqno",
        ))
        .define(
            ConfigKey::new(
                BATCH_SIZE,
                ConfigType::Int,
                Some("500"),
                Importance::Low,
                "kaflow: the maximum number of records one poll returns (Kafka's sends one per poll)",
            )
            .validate(Validator::at_least(1)),
        )
        .define(super::id_key())
}

/// The struct `complete.record.data` sends (Kafka's `COMPLETE_VALUE_SCHEMA`).
fn complete_schema() -> Schema {
    let built = SchemaBuilder::struct_()
        .field("name", Schema::STRING())
        .and_then(|b| b.field("task", Schema::INT32()))
        .and_then(|b| b.field("topic", Schema::STRING()))
        .and_then(|b| b.field("time_ms", Schema::INT64()))
        .and_then(|b| b.field("seqno", Schema::INT64()));
    match built {
        Ok(b) => b.build(),
        Err(e) => unreachable!("the field names are distinct constants: {e}"),
    }
}

crate::numbered::numbered_connector!(
    /// The connector: `tasks.max` tasks, numbered by `id`.
    Source VerifiableSourceConnector, config_def, ID, VerifiableSourceTask
);

/// A task: one sequence.
#[derive(Debug, Default)]
pub struct VerifiableSourceTask {
    state: Option<Running>,
}

#[derive(Debug)]
struct Running {
    name: String,
    id: i32,
    topic: String,
    partition: SourceMap,
    seq: Sequence,
    complete: Option<Schema>,
}

impl Running {
    fn record(&self, seqno: u64, now: i64) -> SourceRecord {
        let offset = SourceMap::from([(SEQNO_FIELD.to_string(), Value::Int64(seqno as i64))]);
        let (schema, value) = match &self.complete {
            None => (Schema::INT64(), Value::Int64(seqno as i64)),
            Some(schema) => {
                let mut s = Struct::new(schema.clone())
                    .unwrap_or_else(|e| unreachable!("a struct schema makes a struct: {e}"));
                let fields = [
                    ("name", Value::String(self.name.clone())),
                    ("task", Value::Int32(self.id)),
                    ("topic", Value::String(self.topic.clone())),
                    ("time_ms", Value::Int64(now)),
                    ("seqno", Value::Int64(seqno as i64)),
                ];
                for (f, v) in fields {
                    if let Err(e) = s.put(f, v) {
                        unreachable!("fields match complete_schema(): {e}");
                    }
                }
                (schema.clone(), Value::Struct(s))
            }
        };
        let mut r = SourceRecord::new(
            self.partition.clone(),
            offset,
            self.topic.clone(),
            Some(schema),
            value,
        );
        r.record.key_schema = Some(Schema::INT32());
        r.record.key = Value::Int32(self.id);
        r.record.timestamp = Some(now);
        r
    }
}

#[async_trait::async_trait]
impl SourceTask for VerifiableSourceTask {
    async fn start(&mut self, props: Props, ctx: Arc<dyn SourceTaskContext>) -> ConnectResult<()> {
        let cfg = config_def()
            .parse(&props)
            .map_err(|e| ConnectError::Config(e.to_string()))?;
        let id = i32::try_from(cfg.long(ID).unwrap_or_default())
            .map_err(|_| ConnectError::Config(format!("{ID} is not a task number")))?;
        let partition = SourceMap::from([(ID_FIELD.to_string(), Value::Int32(id))]);
        let next = next_after(ctx.offset_reader().offset(&partition).as_ref(), SEQNO_FIELD)?;
        let throughput = cfg.long(THROUGHPUT).unwrap_or(-1);
        let state = Running {
            name: props.get("name").cloned().unwrap_or_default(),
            id,
            topic: cfg.string(TOPIC).unwrap_or_default().to_string(),
            partition,
            seq: Sequence::new(
                next,
                u64::try_from(cfg.long(MAX_MESSAGES).unwrap_or(-1)).ok(),
                cfg.long(BATCH_SIZE).unwrap_or(500).max(1) as u64,
                throughput as f64,
            ),
            complete: cfg.boolean(COMPLETE_RECORD_DATA).then(complete_schema),
        };
        tracing::info!(
            task = id,
            topic = %state.topic,
            seqno = next,
            "VerifiableSourceTask resuming"
        );
        self.state = Some(state);
        Ok(())
    }

    async fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        let Some(s) = self.state.as_mut() else {
            return Err(ConnectError::Failed(
                "VerifiableSourceTask polled before start".into(),
            ));
        };
        let range = s.seq.take().await;
        let now = now_ms();
        let records = range.map(|seq| s.record(seq, now)).collect();
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

    async fn started(kv: &[(&str, &str)], committed: Option<i64>) -> VerifiableSourceTask {
        let props = props(kv);
        let committed = committed.map(|n| SourceMap::from([(SEQNO_FIELD.to_string(), Value::Int64(n))]));
        let mut t = VerifiableSourceTask::default();
        t.start(props.clone(), Arc::new(SourceCtx { props, committed }))
            .await
            .unwrap();
        t
    }

    #[tokio::test]
    async fn records_carry_the_task_as_key_and_consecutive_seqnos_as_value() {
        let mut t = started(
            &[
                ("topic", "t"),
                ("id", "3"),
                ("max.messages", "7"),
                ("batch.size", "4"),
            ],
            Some(1),
        )
        .await;
        let mut all = t.poll().await.unwrap();
        all.extend(t.poll().await.unwrap());
        assert!(t.poll().await.unwrap().is_empty(), "idle after max.messages");
        let seqnos: Vec<_> = all.iter().map(|r| r.record.value.clone()).collect();
        assert_eq!(seqnos, (2..7).map(Value::Int64).collect::<Vec<_>>());
        for r in &all {
            assert_eq!(r.record.key, Value::Int32(3));
            assert_eq!(r.record.key_schema, Some(Schema::INT32()));
            assert_eq!(
                r.source_partition,
                SourceMap::from([("id".to_string(), Value::Int32(3))])
            );
            assert_eq!(r.source_offset["seqno"], r.record.value);
        }
    }

    #[tokio::test]
    async fn complete_record_data_sends_kafkas_struct() {
        let mut t = started(
            &[("topic", "t"), ("name", "v"), ("complete.record.data", "true")],
            None,
        )
        .await;
        let r = t.poll().await.unwrap().remove(0);
        let Value::Struct(s) = &r.record.value else {
            panic!("{:?}", r.record.value)
        };
        assert_eq!(s.get("name").unwrap(), &Value::string("v"));
        assert_eq!(s.get("task").unwrap(), &Value::Int32(0));
        assert_eq!(s.get("seqno").unwrap(), &Value::Int64(0));
    }

    #[tokio::test]
    async fn the_connector_numbers_its_tasks_and_requires_a_topic() {
        let mut c = VerifiableSourceConnector::default();
        let err = c.start(Props::new(), Arc::new(NoConnectorCtx)).await.unwrap_err();
        assert!(err.to_string().contains("\"topic\""), "{err}");
        c.start(props(&[("topic", "t")]), Arc::new(NoConnectorCtx))
            .await
            .unwrap();
        let ids: Vec<_> = c
            .task_configs(2)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p[ID].clone())
            .collect();
        assert_eq!(ids, ["0", "1"]);
    }
}
