//! `io.kaflow.connect.verifiable.VerifiableSinkConnector`: Kafka's VerifiableSinkTask, writing
//! to a file instead of stdout. One JSON line per record it is given:
//!
//! ```text
//!  {"name":"c","offset":41,"partition":0,"seqno":17,"sinkTask":0,"task":1,"time_ms":…,"topic":"t"}
//!   task  = the record's key (the source task), seqno = its value (or the struct's "seqno")
//! ```
//!
//! Durability is what makes the file a proof: `flush` (which the runtime's `pre_commit` calls
//! before committing offsets) writes the buffer out and fsyncs, so every committed offset's
//! record is on disk. A kill can leave a torn last line after the last fsync; a restarted task
//! cuts it off before appending (its record is past the committed offset and comes again).
//! Task N > 0 writes to `<file>.N` so tasks never interleave within one file.

use super::ID;
use crate::sequence::now_ms;
use kaflow_runtime::config::{ConfigDef, ConfigKey, ConfigType, Importance};
use kaflow_runtime::connector::{
    ConnectError, ConnectResult, Props, SinkTask, SinkTaskContext, TopicPartition,
};
use kaflow_runtime::data::{SinkRecord, Value};
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

/// kaflow's class name.
pub const CLASS: &str = "io.kaflow.connect.verifiable.VerifiableSinkConnector";
const FILE: &str = "file";

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(ConfigKey::new(
            FILE,
            ConfigType::String,
            None,
            Importance::High,
            "The file the JSON lines are appended to (task N > 0 appends to <file>.N); standard output when unset, as Kafka's",
        ))
        .define(super::id_key())
}

/// The file task `id` writes to.
pub fn task_file(file: &Path, id: i64) -> PathBuf {
    if id == 0 {
        file.to_path_buf()
    } else {
        let mut name = file.as_os_str().to_os_string();
        name.push(format!(".{id}"));
        PathBuf::from(name)
    }
}

/// Cuts a torn last line (bytes after the last `\n`) off `path`; returns how many bytes went.
/// A missing file is fine (nothing to cut).
pub fn truncate_torn_tail(path: &Path) -> std::io::Result<u64> {
    let mut f = match std::fs::OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    let mut end = len;
    let mut buf = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(end - start) as usize];
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            let keep = start + i as u64 + 1;
            if keep < len {
                f.set_len(keep)?;
                f.sync_data()?;
            }
            return Ok(len - keep);
        }
        end = start;
    }
    // No newline at all: the whole file is one torn line.
    if len > 0 {
        f.set_len(0)?;
        f.sync_data()?;
    }
    Ok(len)
}

/// An integer from a Connect value, as the JsonConverter or the source's schemas give them.
fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Int8(n) => Some(i64::from(*n)),
        Value::Int16(n) => Some(i64::from(*n)),
        Value::Int32(n) => Some(i64::from(*n)),
        Value::Int64(n) => Some(*n),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A field of a struct value (or of a schemaless JSON object, which arrives as a map).
fn field(v: &Value, name: &str) -> Option<i64> {
    match v {
        Value::Struct(s) => s.get(name).ok().and_then(integer),
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(name))
            .and_then(|(_, v)| integer(v)),
        _ => None,
    }
}

/// The JSON line for one record (no trailing newline). `task`/`seqno` are null for a record
/// that isn't the verifiable source's; the checker counts those as foreign.
pub fn line(name: &str, sink_task: i64, r: &SinkRecord, now: i64) -> String {
    let seqno = integer(&r.record.value).or_else(|| field(&r.record.value, "seqno"));
    let task = integer(&r.record.key).or_else(|| field(&r.record.value, "task"));
    serde_json::json!({
        "name": name,
        "task": task,
        "seqno": seqno,
        "sinkTask": sink_task,
        "topic": r.record.topic,
        "partition": r.record.kafka_partition,
        "offset": r.kafka_offset,
        "time_ms": now,
    })
    .to_string()
}

crate::numbered::numbered_connector!(
    /// The connector: `tasks.max` tasks, numbered by `id`.
    Sink VerifiableSinkConnector, config_def, ID, VerifiableSinkTask
);

#[derive(Debug)]
enum Out {
    File(tokio::io::BufWriter<tokio::fs::File>),
    Stdout(tokio::io::BufWriter<tokio::io::Stdout>),
}

/// The task.
#[derive(Debug, Default)]
pub struct VerifiableSinkTask {
    name: String,
    id: i64,
    path: Option<PathBuf>,
    out: Option<Out>,
}

impl VerifiableSinkTask {
    fn where_(&self) -> String {
        self.path
            .as_ref()
            .map_or_else(|| "stdout".to_string(), |p| p.display().to_string())
    }
}

#[async_trait::async_trait]
impl SinkTask for VerifiableSinkTask {
    async fn start(&mut self, props: Props, _ctx: Arc<dyn SinkTaskContext>) -> ConnectResult<()> {
        let cfg = config_def()
            .parse(&props)
            .map_err(|e| ConnectError::Config(e.to_string()))?;
        self.name = props.get("name").cloned().unwrap_or_default();
        self.id = cfg.long(ID).unwrap_or_default();
        self.path = cfg
            .string(FILE)
            .filter(|f| !f.is_empty())
            .map(|f| task_file(Path::new(f), self.id));
        self.out = Some(match &self.path {
            None => Out::Stdout(tokio::io::BufWriter::new(tokio::io::stdout())),
            Some(path) => {
                let p = path.clone();
                let cut = tokio::task::spawn_blocking(move || truncate_torn_tail(&p))
                    .await
                    .map_err(ConnectError::failed)?
                    .map_err(|e| ConnectError::Failed(format!("repairing {}: {e}", path.display())))?;
                if cut > 0 {
                    tracing::warn!(file = %path.display(), bytes = cut, "cut a torn last line left by an unclean stop");
                }
                let file = tokio::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .await
                    .map_err(|e| ConnectError::Failed(format!("opening {}: {e}", path.display())))?;
                Out::File(tokio::io::BufWriter::new(file))
            }
        });
        Ok(())
    }

    async fn put(&mut self, records: Vec<SinkRecord>) -> ConnectResult<()> {
        let now = now_ms();
        let mut text = String::new();
        for r in &records {
            text.push_str(&line(&self.name, self.id, r, now));
            text.push('\n');
        }
        let res = match &mut self.out {
            Some(Out::File(f)) => f.write_all(text.as_bytes()).await,
            Some(Out::Stdout(s)) => s.write_all(text.as_bytes()).await,
            None => {
                return Err(ConnectError::Failed(
                    "VerifiableSinkTask used before start".into(),
                ))
            }
        };
        res.map_err(|e| ConnectError::Failed(format!("writing {}: {e}", self.where_())))
    }

    async fn flush(&mut self, _offsets: &BTreeMap<TopicPartition, i64>) -> ConnectResult<()> {
        let name = self.where_();
        let fail = |e: std::io::Error| ConnectError::Failed(format!("flushing {name}: {e}"));
        match &mut self.out {
            Some(Out::File(f)) => {
                f.flush().await.map_err(fail)?;
                f.get_ref().sync_data().await.map_err(fail)
            }
            Some(Out::Stdout(s)) => s.flush().await.map_err(fail),
            None => Ok(()),
        }
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        self.flush(&BTreeMap::new()).await?;
        self.out = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kaflow_runtime::data::{ConnectRecord, SchemaBuilder, Struct};

    fn record(key: Value, value: Value, offset: i64) -> SinkRecord {
        SinkRecord {
            record: ConnectRecord {
                topic: "t".into(),
                kafka_partition: Some(2),
                key,
                value,
                ..ConnectRecord::default()
            },
            kafka_offset: offset,
            ..SinkRecord::default()
        }
    }

    fn parsed(l: &str) -> serde_json::Value {
        serde_json::from_str(l).unwrap()
    }

    #[test]
    fn a_line_names_source_task_seqno_and_kafka_position() {
        let l = parsed(&line("c", 1, &record(Value::Int64(3), Value::Int64(17), 41), 5));
        assert_eq!(
            l,
            serde_json::json!({"name":"c","task":3,"seqno":17,"sinkTask":1,"topic":"t",
                               "partition":2,"offset":41,"time_ms":5})
        );
        // Kafka's complete.record.data struct, and the JsonConverter's schemaless map of it.
        let schema = SchemaBuilder::struct_()
            .field("task", kaflow_runtime::data::Schema::INT32())
            .and_then(|b| b.field("seqno", kaflow_runtime::data::Schema::INT64()))
            .unwrap()
            .build();
        let s = Struct::new(schema)
            .unwrap()
            .with("task", Value::Int32(4))
            .unwrap()
            .with("seqno", Value::Int64(9))
            .unwrap();
        let l = parsed(&line("c", 0, &record(Value::Null, Value::Struct(s), 0), 0));
        assert_eq!((l["task"].as_i64(), l["seqno"].as_i64()), (Some(4), Some(9)));
        let m = Value::Map(vec![(Value::string("seqno"), Value::Int64(8))]);
        let l = parsed(&line("c", 0, &record(Value::Int32(1), m, 0), 0));
        assert_eq!((l["task"].as_i64(), l["seqno"].as_i64()), (Some(1), Some(8)));
        // Foreign records are written with nulls, for the checker to count.
        let l = parsed(&line("c", 0, &record(Value::Null, Value::string("x"), 0), 0));
        assert!(l["task"].is_null() && l["seqno"].is_null());
    }

    #[test]
    fn a_torn_last_line_is_cut_and_complete_lines_are_kept() {
        let dir = std::env::temp_dir().join(format!("kaflow-vsink-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("f");
        assert_eq!(truncate_torn_tail(&p).unwrap(), 0, "missing file");
        std::fs::write(&p, "a\nb\n").unwrap();
        assert_eq!(truncate_torn_tail(&p).unwrap(), 0);
        std::fs::write(&p, "a\nb\n{\"tor").unwrap();
        assert_eq!(truncate_torn_tail(&p).unwrap(), 5);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "a\nb\n");
        // A torn line longer than one read chunk.
        let long = format!("x\n{}", "y".repeat(200_000));
        std::fs::write(&p, &long).unwrap();
        assert_eq!(truncate_torn_tail(&p).unwrap(), 200_000);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "x\n");
        std::fs::write(&p, "no newline").unwrap();
        assert_eq!(truncate_torn_tail(&p).unwrap(), 10);
        assert_eq!(std::fs::read(&p).unwrap(), b"");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn flushed_lines_are_on_disk_and_a_restart_appends_after_a_torn_tail() {
        use crate::testing::{props, SinkCtx};
        use crate::verifiable::check::{check, Expect, Lines};
        let dir = std::env::temp_dir().join(format!("kaflow-vsink-task-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("out.jsonl");
        let _ = std::fs::remove_file(&file);
        let p = props(&[("name", "v"), ("file", file.to_str().unwrap()), ("id", "0")]);
        let run = |from: i64, to: i64| {
            let p = p.clone();
            async move {
                let mut t = VerifiableSinkTask::default();
                t.start(p.clone(), Arc::new(SinkCtx { props: p })).await.unwrap();
                let records = (from..to)
                    .map(|s| record(Value::Int32(0), Value::Int64(s), s))
                    .collect();
                t.put(records).await.unwrap();
                t.flush(&BTreeMap::new()).await.unwrap();
                t.stop().await.unwrap();
            }
        };
        run(0, 3).await;
        // What a kill in the middle of a write leaves behind.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&file)
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"{\"name\":\"v\",\"off"))
            .unwrap();
        run(3, 5).await;
        let lines = Lines::parse(&std::fs::read_to_string(&file).unwrap());
        assert_eq!((lines.malformed, lines.torn_tail), (0, false));
        let r = check(
            &lines,
            &Expect {
                tasks: Some(1),
                seqs: Some(5),
            },
        );
        assert!(r.is_clean() && r.duplicates() == 0, "{r}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn task_files_are_distinct() {
        assert_eq!(
            task_file(Path::new("/x/out.jsonl"), 0),
            PathBuf::from("/x/out.jsonl")
        );
        assert_eq!(
            task_file(Path::new("/x/out.jsonl"), 2),
            PathBuf::from("/x/out.jsonl.2")
        );
    }
}
