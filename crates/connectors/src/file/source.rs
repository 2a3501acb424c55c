//! `org.apache.kafka.connect.file.FileStreamSourceConnector`: each line of a file (or stdin)
//! becomes a record with a STRING value; the source partition is `{"filename": <file>}` and
//! the offset `{"position": <bytes after the line>}`.

use super::line_reader::{Line, LineReader};
use kaflow_runtime::config::{ConfigDef, ConfigKey, ConfigType, Importance, Validator};
use kaflow_runtime::connector::{
    ConnectError, ConnectResult, Connector, ConnectorContext, Props, SourceConnector, SourceTask,
    SourceTaskContext,
};
use kaflow_runtime::data::{Schema, SourceMap, SourceRecord, Value};
use std::sync::Arc;
use std::time::Duration;

/// Kafka's class name.
pub const CLASS: &str = "org.apache.kafka.connect.file.FileStreamSourceConnector";
const FILE: &str = "file";
const TOPIC: &str = "topic";
const BATCH_SIZE: &str = "batch.size";
/// How long `poll` waits for new data before returning nothing (Kafka waits up to 1 s).
const IDLE_WAIT: Duration = Duration::from_millis(100);

fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(ConfigKey::new(
            FILE,
            ConfigType::String,
            None,
            Importance::High,
            "Source filename. If not specified, the standard input will be used",
        ))
        .define(
            ConfigKey::required(
                TOPIC,
                ConfigType::String,
                Importance::High,
                "The topic to publish data to",
            )
            .validate(Validator::NonEmptyString),
        )
        .define(
            ConfigKey::new(
                BATCH_SIZE,
                ConfigType::Int,
                Some("2000"),
                Importance::Low,
                "The maximum number of records the source task can read from the file each time it is polled",
            )
            .validate(Validator::at_least(1)),
        )
}

/// The connector: one task, whatever `tasks.max` says (a file has one reader).
#[derive(Debug, Default)]
pub struct FileStreamSourceConnector {
    props: Props,
}

#[async_trait::async_trait]
impl Connector for FileStreamSourceConnector {
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }

    fn config(&self) -> ConfigDef {
        config_def()
    }

    async fn start(&mut self, props: Props, _ctx: Arc<dyn ConnectorContext>) -> ConnectResult<()> {
        config_def()
            .parse(&props)
            .map_err(|e| ConnectError::Config(e.to_string()))?;
        self.props = props;
        Ok(())
    }

    async fn task_configs(&mut self, _max_tasks: usize) -> ConnectResult<Vec<Props>> {
        Ok(vec![self.props.clone()])
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}

impl SourceConnector for FileStreamSourceConnector {
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::<FileStreamSourceTask>::default()
    }
}

enum Input {
    File(LineReader<tokio::fs::File>),
    Stdin(LineReader<tokio::io::Stdin>),
}

/// The task: reads lines as the file grows.
#[derive(Default)]
pub struct FileStreamSourceTask {
    filename: Option<String>,
    topic: String,
    batch_size: usize,
    input: Option<Input>,
    ctx: Option<Arc<dyn SourceTaskContext>>,
}

impl std::fmt::Debug for FileStreamSourceTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStreamSourceTask")
            .field("filename", &self.filename)
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl FileStreamSourceTask {
    fn partition(&self) -> SourceMap {
        let name = self.filename.clone().map_or(Value::Null, Value::String);
        SourceMap::from([("filename".to_string(), name)])
    }

    fn record(&self, partition: &SourceMap, line: Line, now: i64) -> SourceRecord {
        let position = line.end_position.map_or(Value::Null, |p| Value::Int64(p as i64));
        let offset = SourceMap::from([("position".to_string(), position)]);
        let mut r = SourceRecord::new(
            partition.clone(),
            offset,
            self.topic.clone(),
            Some(Schema::STRING()),
            Value::String(line.text),
        );
        r.record.timestamp = Some(now);
        r
    }

    /// Opens the file at its committed position; `None` while the file doesn't exist yet
    /// (Kafka waits for it to be created).
    async fn open(&self, filename: &str) -> ConnectResult<Option<Input>> {
        let mut file = match tokio::fs::File::open(filename).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ConnectError::Failed(format!("cannot open {filename}: {e}"))),
        };
        let committed = self
            .ctx
            .as_ref()
            .and_then(|c| c.offset_reader().offset(&self.partition()));
        let start = match committed.as_ref().and_then(|o| o.get("position")) {
            None | Some(Value::Null) => 0,
            Some(Value::Int64(p)) if *p >= 0 => *p as u64,
            Some(Value::Int32(p)) if *p >= 0 => *p as u64,
            Some(other) => {
                return Err(ConnectError::Failed(format!(
                    "Offset position is the incorrect type: {other:?}"
                )));
            }
        };
        if start > 0 {
            use tokio::io::AsyncSeekExt;
            file.seek(std::io::SeekFrom::Start(start))
                .await
                .map_err(|e| ConnectError::Failed(format!("cannot seek {filename} to {start}: {e}")))?;
            tracing::debug!(
                file = filename,
                position = start,
                "resuming from the committed offset"
            );
        }
        Ok(Some(Input::File(LineReader::new(file, Some(start)))))
    }
}

#[async_trait::async_trait]
impl SourceTask for FileStreamSourceTask {
    async fn start(&mut self, props: Props, ctx: Arc<dyn SourceTaskContext>) -> ConnectResult<()> {
        let cfg = config_def()
            .parse(&props)
            .map_err(|e| ConnectError::Config(e.to_string()))?;
        self.filename = cfg.string(FILE).filter(|f| !f.is_empty()).map(str::to_string);
        self.topic = cfg.string(TOPIC).unwrap_or_default().to_string();
        self.batch_size = cfg.long(BATCH_SIZE).unwrap_or(2000) as usize;
        self.ctx = Some(ctx);
        if self.filename.is_none() {
            // No offsets for stdin: there is nothing to resume.
            self.input = Some(Input::Stdin(LineReader::new(tokio::io::stdin(), None)));
        }
        Ok(())
    }

    async fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        if self.input.is_none() {
            let filename = self.filename.clone().unwrap_or_default();
            match self.open(&filename).await? {
                Some(input) => self.input = Some(input),
                None => {
                    tracing::warn!(file = %filename, "couldn't find the file, waiting for it to be created");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    return Ok(Vec::new());
                }
            }
        }
        let max = self.batch_size;
        let lines = match self.input.as_mut().expect("opened above") {
            Input::File(r) => r.next_lines(max).await,
            Input::Stdin(r) => r.next_lines(max).await,
        }
        .map_err(|e| {
            ConnectError::Failed(format!(
                "reading {}: {e}",
                self.filename.as_deref().unwrap_or("stdin")
            ))
        })?;
        if lines.is_empty() {
            tokio::time::sleep(IDLE_WAIT).await;
            return Ok(Vec::new());
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let partition = self.partition();
        Ok(lines
            .into_iter()
            .map(|l| self.record(&partition, l, now))
            .collect())
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        self.input = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::SourceCtx;

    async fn poll_all(file: &std::path::Path, committed: Option<i64>) -> Vec<SourceRecord> {
        let props = Props::from([
            ("file".to_string(), file.display().to_string()),
            ("topic".to_string(), "t".to_string()),
            ("batch.size".to_string(), "2".to_string()),
        ]);
        let committed = committed.map(|p| SourceMap::from([("position".to_string(), Value::Int64(p))]));
        let mut task = FileStreamSourceTask::default();
        task.start(props.clone(), Arc::new(SourceCtx { props, committed }))
            .await
            .unwrap();
        let mut out = Vec::new();
        loop {
            let got = task.poll().await.unwrap();
            if got.is_empty() {
                return out;
            }
            out.extend(got);
        }
    }

    #[tokio::test]
    async fn lines_become_records_with_positions_and_a_restart_resumes_after_the_committed_one() {
        let path = std::env::temp_dir().join(format!("kaflow-fss-{}.txt", std::process::id()));
        std::fs::write(&path, "alpha\nbeta\ngamma\n").unwrap();
        let all = poll_all(&path, None).await;
        let values: Vec<_> = all.iter().map(|r| r.record.value.clone()).collect();
        assert_eq!(values, ["alpha", "beta", "gamma"].map(Value::string));
        let positions: Vec<_> = all.iter().map(|r| r.source_offset["position"].clone()).collect();
        assert_eq!(positions, [6, 11, 17].map(Value::Int64));
        assert_eq!(
            all[0].source_partition["filename"],
            Value::String(path.display().to_string())
        );
        assert_eq!(all[0].record.topic, "t");
        assert_eq!(all[0].record.value_schema, Some(Schema::STRING()));

        let resumed = poll_all(&path, Some(6)).await;
        let values: Vec<_> = resumed.iter().map(|r| r.record.value.clone()).collect();
        assert_eq!(values, ["beta", "gamma"].map(Value::string));
        std::fs::remove_file(&path).unwrap();
    }
}
