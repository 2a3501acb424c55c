//! `org.apache.kafka.connect.file.FileStreamSinkConnector`: writes each record's value as a
//! line to a file (appending) or to stdout, as Kafka's `FileStreamSinkTask`
//! (`println(record.value())`).

use kaflow_runtime::config::{ConfigDef, ConfigKey, ConfigType, Importance};
use kaflow_runtime::connector::{
    ConnectError, ConnectResult, Connector, ConnectorContext, Props, SinkConnector, SinkTask,
    SinkTaskContext, TopicPartition,
};
use kaflow_runtime::data::{SinkRecord, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

/// Kafka's class name.
pub const CLASS: &str = "org.apache.kafka.connect.file.FileStreamSinkConnector";
const FILE: &str = "file";

fn config_def() -> ConfigDef {
    ConfigDef::new().define(ConfigKey::new(
        FILE,
        ConfigType::String,
        None,
        Importance::High,
        "Destination filename. If not specified, the standard output will be used",
    ))
}

/// The connector: one task.
#[derive(Debug, Default)]
pub struct FileStreamSinkConnector {
    props: Props,
}

#[async_trait::async_trait]
impl Connector for FileStreamSinkConnector {
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }

    fn config(&self) -> ConfigDef {
        config_def()
    }

    async fn start(&mut self, props: Props, _ctx: Arc<dyn ConnectorContext>) -> ConnectResult<()> {
        self.props = props;
        Ok(())
    }

    async fn task_configs(&mut self, max_tasks: usize) -> ConnectResult<Vec<Props>> {
        // One config per task slot, as FileStreamSinkConnector (they all append to one file).
        Ok(vec![self.props.clone(); max_tasks.max(1)])
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}

impl SinkConnector for FileStreamSinkConnector {
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::<FileStreamSinkTask>::default()
    }
}

/// The task.
#[derive(Default)]
pub struct FileStreamSinkTask {
    filename: Option<String>,
    out: Option<tokio::io::BufWriter<tokio::fs::File>>,
    stdout: Option<tokio::io::BufWriter<tokio::io::Stdout>>,
}

impl std::fmt::Debug for FileStreamSinkTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStreamSinkTask")
            .field("filename", &self.filename)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl SinkTask for FileStreamSinkTask {
    async fn start(&mut self, props: Props, _ctx: Arc<dyn SinkTaskContext>) -> ConnectResult<()> {
        self.filename = props.get(FILE).filter(|f| !f.is_empty()).cloned();
        match &self.filename {
            Some(f) => {
                let file = tokio::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(f)
                    .await
                    .map_err(|e| {
                        ConnectError::Failed(format!(
                            "Couldn't find or create file '{f}' for FileStreamSinkTask: {e}"
                        ))
                    })?;
                self.out = Some(tokio::io::BufWriter::new(file));
            }
            None => self.stdout = Some(tokio::io::BufWriter::new(tokio::io::stdout())),
        }
        Ok(())
    }

    async fn put(&mut self, records: Vec<SinkRecord>) -> ConnectResult<()> {
        let mut text = String::new();
        for r in &records {
            text.push_str(&java_to_string(&r.record.value));
            text.push('\n');
        }
        let res = match (&mut self.out, &mut self.stdout) {
            (Some(f), _) => f.write_all(text.as_bytes()).await,
            (None, Some(s)) => s.write_all(text.as_bytes()).await,
            (None, None) => {
                return Err(ConnectError::Failed(
                    "FileStreamSinkTask used before start".into(),
                ))
            }
        };
        res.map_err(|e| {
            ConnectError::Failed(format!(
                "writing {}: {e}",
                self.filename.as_deref().unwrap_or("stdout")
            ))
        })
    }

    async fn flush(&mut self, _offsets: &BTreeMap<TopicPartition, i64>) -> ConnectResult<()> {
        // Durable before the offsets are committed: flush the buffer and fsync the file.
        let name = self.filename.clone().unwrap_or_else(|| "stdout".into());
        let fail = |e: std::io::Error| ConnectError::Failed(format!("flushing {name}: {e}"));
        if let Some(f) = &mut self.out {
            f.flush().await.map_err(fail)?;
            f.get_ref().sync_data().await.map_err(fail)?;
        }
        if let Some(s) = &mut self.stdout {
            s.flush().await.map_err(fail)?;
        }
        Ok(())
    }

    async fn stop(&mut self) -> ConnectResult<()> {
        if let Some(mut f) = self.out.take() {
            f.flush().await.map_err(|e| ConnectError::Failed(e.to_string()))?;
        }
        if let Some(mut s) = self.stdout.take() {
            let _ = s.flush().await;
        }
        Ok(())
    }
}

/// Java's `String.valueOf(value)` for Connect values, which is what Kafka's sink prints:
/// strings as they are, `null`, numbers, `[a, b]` lists, `{k=v}` maps, `Struct{f=v,...}`.
pub fn java_to_string(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::String(s) => s.clone(),
        Value::Boolean(b) => b.to_string(),
        Value::Int8(n) => n.to_string(),
        Value::Int16(n) => n.to_string(),
        Value::Int32(n) | Value::Date(n) | Value::Time(n) => n.to_string(),
        Value::Int64(n) | Value::Timestamp(n) => n.to_string(),
        Value::Float32(f) => java_float(f64::from(*f)),
        Value::Float64(f) => java_float(*f),
        Value::Bytes(b) => format!("{b:?}"),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(java_to_string).collect::<Vec<_>>().join(", ")
        ),
        Value::Map(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("{}={}", java_to_string(k), java_to_string(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Struct(s) => format!("{s:?}"),
        Value::Decimal(d) => format!("{d:?}"),
    }
}

/// Java prints whole doubles with `.0` (`1.0`), Rust without.
fn java_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e7 {
        format!("{f:.1}")
    } else if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else {
        f.to_string()
    }
}
