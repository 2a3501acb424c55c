//! The standalone runtime's sink and source loops against a real broker: error handling
//! (invariants I22, I23), retriable `put`, `topics.regex` and the client override policy.
//! - a poison record under `errors.tolerance=none` fails the sink task (FAILED, with a trace
//!   naming the stage) and nothing at or after it is committed;
//! - under `errors.tolerance=all` with a dead letter queue, the poison record lands in the DLQ
//!   byte for byte with Connect's `__connect.errors.*` headers, every good record reaches the
//!   sink file in order, and the committed offset passes the poison record;
//! - a source record Kafka refuses fails the source task under `none` with the source offset
//!   committed only up to the record before it, and is skipped (KIP-779) under `all`;
//! - a sink task whose `put` says "retriable" gets exactly the same records again, and each
//!   record is then written once (I12);
//! - `topics.regex` consumes every matching topic and nothing else;
//! - partitions revoked by a rebalance are committed up to what the task wrote before they move:
//!   a second worker joining the sink's group re-reads nothing (I24);
//! - client overrides the worker's policy forbids are refused with Connect's message.

use bytes::Bytes;
use kaflow_client::admin::{Admin, NewTopic};
use kaflow_client::cluster::Cluster;
use kaflow_client::consumer::{Consumer, ConsumerConfig, ConsumerRecord};
use kaflow_client::group::{fetch_committed, TopicPartition};
use kaflow_client::producer::{Producer, ProducerConfig, ProducerRecord};
use kaflow_client::{ClientConfig, Properties};
use kaflow_runtime::config::ConfigDef;
use kaflow_runtime::connector::{
    ConnectError, ConnectResult, Connector, ConnectorContext, Props, SinkConnector, SinkTask, SinkTaskContext,
};
use kaflow_runtime::data::SinkRecord;
use kaflow_runtime::herder::status::State;
use kaflow_runtime::herder::StandaloneWorker;
use kaflow_runtime::plugins::{ConnectorFactory, Plugins};
use kaflow_test_support::{require_kafka, unique_topic};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn props(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn worker(bootstrap: &str, dir: &std::path::Path, extra: &[(&str, &str)]) -> StandaloneWorker {
    let offsets = dir.join("connect.offsets");
    let mut p = props(&[
        ("bootstrap.servers", bootstrap),
        (
            "key.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        ),
        ("value.converter", "org.apache.kafka.connect.json.JsonConverter"),
        ("value.converter.schemas.enable", "false"),
        ("offset.storage.file.filename", offsets.to_str().unwrap()),
        ("offset.flush.interval.ms", "200"),
    ]);
    p.extend(props(extra));
    let mut plugins = Plugins::new();
    kaflow_connectors::register(&mut plugins);
    StandaloneWorker::start(p, plugins).await.expect("worker starts")
}

/// A worker with StringConverter keys and values and only `plugins` (test connectors).
async fn string_worker(
    bootstrap: &str,
    dir: &std::path::Path,
    plugins: Plugins,
    flush_ms: &str,
) -> StandaloneWorker {
    let offsets = dir.join("connect.offsets");
    let converter = "org.apache.kafka.connect.storage.StringConverter";
    StandaloneWorker::start(
        props(&[
            ("bootstrap.servers", bootstrap),
            ("key.converter", converter),
            ("value.converter", converter),
            ("offset.storage.file.filename", offsets.to_str().unwrap()),
            ("offset.flush.interval.ms", flush_ms),
        ]),
        plugins,
    )
    .await
    .expect("worker starts")
}

async fn cluster(bootstrap: &str) -> Arc<Cluster> {
    let cfg = ClientConfig::from_properties(&Properties::new().with("bootstrap.servers", bootstrap)).unwrap();
    Cluster::connect(cfg).await.unwrap()
}

/// Writes `values` to partition 0 of a new one-partition topic.
async fn produce(bootstrap: &str, topic: &str, values: &[String]) {
    let admin = Admin::new(cluster(bootstrap).await);
    admin.create_topic(NewTopic::new(topic, 1)).await.unwrap();
    let producer = Producer::connect(
        ProducerConfig::from_properties(&Properties::new().with("bootstrap.servers", bootstrap)).unwrap(),
    )
    .await
    .unwrap();
    let mut futs = Vec::new();
    for v in values {
        let mut r = ProducerRecord::new(topic, Bytes::from(v.clone()));
        r.partition = Some(0);
        futs.push(producer.send(r).await.unwrap());
    }
    for f in futs {
        f.wait().await.unwrap();
    }
    producer.close().await;
}

/// Reads exactly `n` records of partition 0 from the beginning (fails after 30 s).
async fn read(bootstrap: &str, topic: &str, n: usize) -> Vec<ConsumerRecord> {
    let cfg =
        ConsumerConfig::from_properties(&Properties::new().with("bootstrap.servers", bootstrap)).unwrap();
    let mut c = Consumer::connect(cfg).await.unwrap();
    let tp = TopicPartition::new(topic, 0);
    c.assign([tp.clone()]);
    c.seek(&tp, 0).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut out = Vec::new();
    while out.len() < n && Instant::now() < deadline {
        out.extend(c.poll(Duration::from_millis(500)).await.unwrap());
    }
    // Nothing more than n.
    out.extend(c.poll(Duration::from_millis(300)).await.unwrap());
    c.close().await;
    out
}

async fn committed(bootstrap: &str, group: &str, topic: &str) -> Option<i64> {
    let tps = [TopicPartition::new(topic, 0)];
    fetch_committed(&cluster(bootstrap).await, group, &tps, Duration::from_secs(10))
        .await
        .unwrap()
        .into_values()
        .next()
        .flatten()
        .map(|o| o.offset)
}

/// Waits until `cond` holds, polling every 50 ms, for at most 30 s.
async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Ten good JSON values, one that isn't JSON, ten good ones.
fn poisoned() -> Vec<String> {
    let mut v: Vec<String> = (0..10).map(|i| format!("{{\"n\":{i}}}")).collect();
    v.push("{not json".to_string());
    v.extend((10..20).map(|i| format!("{{\"n\":{i}}}")));
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i22_poison_record_fails_the_sink_task_and_nothing_past_it_is_committed() {
    let kafka = require_kafka!();
    let topic = unique_topic("poison-none");
    produce(&kafka.bootstrap, &topic, &poisoned()).await;
    let d = dir("poison-none");
    let out = d.join("out.txt");
    let mut w = worker(&kafka.bootstrap, &d, &[]).await;
    let name = format!("sink-{topic}");
    w.add_connector(props(&[
        ("name", &name),
        ("connector.class", "FileStreamSink"),
        ("topics", &topic),
        ("file", out.to_str().unwrap()),
        ("errors.log.enable", "true"),
    ]))
    .await
    .unwrap();
    wait_for("the sink task to fail", || {
        w.task_statuses().values().any(|s| s.state == State::Failed)
    })
    .await;
    let status = w.task_statuses().into_values().next().unwrap();
    let trace = status.trace.expect("a failed task has a trace");
    assert!(trace.contains("Tolerance exceeded in error handler"), "{trace}");
    assert!(trace.contains("VALUE_CONVERTER"), "{trace}");
    assert!(
        trace.contains("org.apache.kafka.connect.json.JsonConverter"),
        "{trace}"
    );
    let stats = w.task_error_stats().into_values().next().unwrap();
    assert_eq!(stats.record_errors.load(Relaxed), 1);
    assert_eq!(stats.errors_logged.load(Relaxed), 1);
    w.stop().await;
    // The poison record is offset 10: nothing at or after it may be committed.
    let c = committed(&kafka.bootstrap, &format!("connect-{name}"), &topic).await;
    assert!(
        c.is_none_or(|o| o <= 10),
        "committed {c:?} past the poison record at offset 10"
    );
    let written = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(
        written.lines().count() <= 10,
        "records after the poison record were written:\n{written}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i22_poison_record_goes_to_the_dead_letter_queue_with_connect_headers() {
    let kafka = require_kafka!();
    let topic = unique_topic("poison-dlq");
    let dlq = format!("{topic}-dlq");
    let values = poisoned();
    produce(&kafka.bootstrap, &topic, &values).await;
    let d = dir("poison-dlq");
    let out = d.join("out.txt");
    let mut w = worker(&kafka.bootstrap, &d, &[]).await;
    let name = format!("sink-{topic}");
    w.add_connector(props(&[
        ("name", &name),
        (
            "connector.class",
            "org.apache.kafka.connect.file.FileStreamSinkConnector",
        ),
        ("topics", &topic),
        ("file", out.to_str().unwrap()),
        ("errors.tolerance", "all"),
        ("errors.deadletterqueue.topic.name", &dlq),
        ("errors.deadletterqueue.topic.replication.factor", "1"),
        ("errors.deadletterqueue.context.headers.enable", "true"),
    ]))
    .await
    .unwrap();
    let expected: Vec<String> = (0..20).map(|i| format!("{{n={i}}}")).collect();
    wait_for("20 records in the sink file", || {
        std::fs::read_to_string(&out).unwrap_or_default().lines().count() >= 20
    })
    .await;
    let stats = w.task_error_stats().into_values().next().unwrap();
    assert_eq!(stats.records_skipped.load(Relaxed), 1);
    assert_eq!(stats.dlq_produce_requests.load(Relaxed), 1);
    assert_eq!(stats.dlq_produce_failures.load(Relaxed), 0);
    assert!(w.task_statuses().values().all(|s| s.state == State::Running));
    w.stop().await;
    let written: Vec<String> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(written, expected, "every good record, once, in order");
    assert_eq!(
        committed(&kafka.bootstrap, &format!("connect-{name}"), &topic).await,
        Some(21)
    );

    let dead = read(&kafka.bootstrap, &dlq, 1).await;
    assert_eq!(dead.len(), 1, "exactly the poison record is dead-lettered");
    let r = &dead[0];
    assert_eq!(r.value.as_deref(), Some(&b"{not json"[..]), "original bytes");
    assert_eq!(r.key, None);
    let header = |k: &str| -> String {
        let h = r
            .headers
            .iter()
            .find(|h| h.key.as_ref() == format!("__connect.errors.{k}").as_bytes())
            .unwrap_or_else(|| panic!("header __connect.errors.{k} missing"));
        String::from_utf8(h.value.clone().unwrap().to_vec()).unwrap()
    };
    assert_eq!(header("topic"), topic);
    assert_eq!(header("partition"), "0");
    assert_eq!(header("offset"), "10");
    assert_eq!(header("connector.name"), name);
    assert_eq!(header("task.id"), "0");
    assert_eq!(header("stage"), "VALUE_CONVERTER");
    assert_eq!(
        header("class.name"),
        "org.apache.kafka.connect.json.JsonConverter"
    );
    assert_eq!(
        header("exception.class.name"),
        "org.apache.kafka.connect.errors.DataException"
    );
    assert!(header("exception.message").contains("Converting byte[] to Kafka Connect data failed"));
}

/// A file source whose third line is larger than the producer's `max.request.size`.
fn source_input(d: &std::path::Path) -> (PathBuf, u64) {
    let input = d.join("in.txt");
    let mut text = String::new();
    text.push_str("first\nsecond\n");
    let before_big = text.len() as u64;
    text.push_str(&"x".repeat(4000));
    text.push('\n');
    text.push_str("fourth\nfifth\n");
    std::fs::write(&input, &text).unwrap();
    (input, before_big)
}

/// Starts a file source on `input` whose producer refuses records over 2000 bytes.
async fn add_file_source(w: &mut StandaloneWorker, topic: &str, input: &std::path::Path, tolerance: &str) {
    w.add_connector(props(&[
        ("name", "file-source"),
        ("connector.class", "FileStreamSource"),
        ("topic", topic),
        ("file", input.to_str().unwrap()),
        (
            "value.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        ),
        ("producer.override.max.request.size", "2000"),
        ("errors.tolerance", tolerance),
    ]))
    .await
    .unwrap();
}

/// The committed `position` of the file source, read back from the offsets file.
fn source_position(w_dir: &std::path::Path, input: &std::path::Path) -> Option<i64> {
    let file = kaflow_runtime::storage::OffsetFile::open(w_dir.join("connect.offsets")).unwrap();
    let key = kaflow_runtime::storage::offset_codec::key(
        "file-source",
        &kaflow_runtime::data::SourceMap::from([(
            "filename".to_string(),
            kaflow_runtime::data::Value::String(input.to_str().unwrap().to_string()),
        )]),
    );
    let value = file.get(&key)?;
    let map = kaflow_runtime::storage::offset_codec::parse_value(value)?;
    match map.get("position")? {
        kaflow_runtime::data::Value::Int64(p) => Some(*p),
        kaflow_runtime::data::Value::Int32(p) => Some(i64::from(*p)),
        other => panic!("position is {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i23_refused_source_record_fails_the_task_and_its_offset_is_not_committed() {
    let kafka = require_kafka!();
    let topic = unique_topic("refused-none");
    let d = dir("refused-none");
    let (input, before_big) = source_input(&d);
    let mut w = worker(&kafka.bootstrap, &d, &[]).await;
    add_file_source(&mut w, &topic, &input, "none").await;
    wait_for("the source task to fail", || {
        w.task_statuses().values().any(|s| s.state == State::Failed)
    })
    .await;
    let trace = w.task_statuses().into_values().next().unwrap().trace.unwrap();
    assert!(trace.contains("Tolerance exceeded in error handler"), "{trace}");
    assert!(trace.contains("KAFKA_PRODUCE"), "{trace}");
    assert!(trace.contains("max.request.size"), "{trace}");
    w.stop().await;
    let written = read(&kafka.bootstrap, &topic, 2).await;
    let values: Vec<&[u8]> = written.iter().map(|r| r.value.as_deref().unwrap()).collect();
    assert_eq!(values, [&b"first"[..], b"second"]);
    let pos = source_position(&d, &input);
    assert!(
        pos.is_none_or(|p| p as u64 <= before_big),
        "source offset {pos:?} committed past the refused record (which starts at {before_big})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i23_refused_source_record_is_skipped_under_tolerance_all() {
    let kafka = require_kafka!();
    let topic = unique_topic("refused-all");
    let d = dir("refused-all");
    let (input, _) = source_input(&d);
    let total = std::fs::metadata(&input).unwrap().len() as i64;
    let mut w = worker(&kafka.bootstrap, &d, &[]).await;
    add_file_source(&mut w, &topic, &input, "all").await;
    let stats = w.task_error_stats().into_values().next().unwrap();
    wait_for("the refused record to be skipped", || {
        stats.records_skipped.load(Relaxed) == 1
    })
    .await;
    let written = read(&kafka.bootstrap, &topic, 4).await;
    let values: Vec<&[u8]> = written.iter().map(|r| r.value.as_deref().unwrap()).collect();
    assert_eq!(values, [&b"first"[..], b"second", b"fourth", b"fifth"]);
    assert!(w.task_statuses().values().all(|s| s.state == State::Running));
    w.stop().await;
    assert_eq!(source_position(&d, &input), Some(total));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_overrides_follow_the_worker_policy() {
    let kafka = require_kafka!();
    let d = dir("override-policy");
    let mut w = worker(
        &kafka.bootstrap,
        &d,
        &[("connector.client.config.override.policy", "None")],
    )
    .await;
    let err = w
        .add_connector(props(&[
            ("name", "file-sink"),
            ("connector.class", "FileStreamSink"),
            ("topics", "t"),
            ("consumer.override.max.poll.records", "10"),
        ]))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("The 'None' policy does not allow 'max.poll.records' to be overridden in the connector configuration."),
        "{err}"
    );
    w.stop().await;
}

/// Offsets each `put` call received, in call order (the test sink below writes here).
static PUTS: std::sync::Mutex<Vec<Vec<i64>>> = std::sync::Mutex::new(Vec::new());

/// A sink connector whose task refuses its first `put` as retriable.
#[derive(Default)]
struct FlakySink;

#[async_trait::async_trait]
impl Connector for FlakySink {
    fn version(&self) -> String {
        "test".into()
    }
    fn config(&self) -> ConfigDef {
        ConfigDef::new()
    }
    async fn start(&mut self, _props: Props, _ctx: Arc<dyn ConnectorContext>) -> ConnectResult<()> {
        Ok(())
    }
    async fn task_configs(&mut self, _max: usize) -> ConnectResult<Vec<Props>> {
        Ok(vec![Props::new()])
    }
    async fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}

impl SinkConnector for FlakySink {
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::new(FlakyTask)
    }
}

struct FlakyTask;

#[async_trait::async_trait]
impl SinkTask for FlakyTask {
    async fn start(&mut self, _props: Props, _ctx: Arc<dyn SinkTaskContext>) -> ConnectResult<()> {
        Ok(())
    }
    async fn put(&mut self, records: Vec<SinkRecord>) -> ConnectResult<()> {
        let mut puts = PUTS.lock().unwrap();
        puts.push(records.iter().map(|r| r.kafka_offset).collect());
        if puts.len() == 1 {
            return Err(ConnectError::Retriable("the external system is busy".into()));
        }
        Ok(())
    }
    async fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i12_retriable_put_gets_the_same_records_again_and_each_is_written_once() {
    let kafka = require_kafka!();
    let topic = unique_topic("retriable-put");
    let values: Vec<String> = (0..50).map(|i| format!("{{\"n\":{i}}}")).collect();
    produce(&kafka.bootstrap, &topic, &values).await;
    let mut plugins = Plugins::new();
    plugins.register_connector(
        "test.FlakySink",
        "test",
        ConnectorFactory::Sink(|| Box::new(FlakySink)),
    );
    let mut w = string_worker(&kafka.bootstrap, &dir("retriable-put"), plugins, "200").await;
    let name = format!("flaky-{topic}");
    w.add_connector(props(&[
        ("name", &name),
        ("connector.class", "test.FlakySink"),
        ("topics", &topic),
    ]))
    .await
    .unwrap();
    let all: Vec<i64> = (0..50).collect();
    wait_for("all 50 records accepted by put", || {
        let puts = PUTS.lock().unwrap();
        puts.iter().skip(1).flatten().count() >= 50
    })
    .await;
    w.stop().await;
    let puts = PUTS.lock().unwrap().clone();
    assert!(puts.len() >= 2, "{puts:?}");
    let accepted: Vec<i64> = puts[1..].iter().flatten().copied().collect();
    assert_eq!(
        accepted, all,
        "after the retriable failure, each record is put once, in order"
    );
    assert_eq!(
        puts[1][..puts[0].len()],
        puts[0][..],
        "the refused records came back first, unchanged"
    );
    assert_eq!(
        committed(&kafka.bootstrap, &format!("connect-{name}"), &topic).await,
        Some(50)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_regex_consumes_every_matching_topic_and_nothing_else() {
    let kafka = require_kafka!();
    let base = unique_topic("regex");
    let (a, b, other) = (format!("{base}-a"), format!("{base}-b"), format!("{base}x-c"));
    for (t, tag) in [(&a, "a"), (&b, "b"), (&other, "c")] {
        let values: Vec<String> = (0..30).map(|i| format!("\"{tag}{i}\"")).collect();
        produce(&kafka.bootstrap, t, &values).await;
    }
    let d = dir("regex");
    let out = d.join("out.txt");
    let mut w = worker(&kafka.bootstrap, &d, &[]).await;
    w.add_connector(props(&[
        ("name", &format!("sink-{base}")),
        ("connector.class", "FileStreamSink"),
        ("topics.regex", &format!("{base}-[ab]")),
        ("file", out.to_str().unwrap()),
    ]))
    .await
    .unwrap();
    wait_for("60 records in the sink file", || {
        std::fs::read_to_string(&out).unwrap_or_default().lines().count() >= 60
    })
    .await;
    w.stop().await;
    let mut lines: Vec<String> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    let mut expected: Vec<String> = (0..30).flat_map(|i| [format!("a{i}"), format!("b{i}")]).collect();
    expected.sort();
    assert_eq!(
        lines, expected,
        "both matching topics once each; the non-matching topic not at all"
    );
}

/// What each recording sink task was given: (tag, partition, offset) per record, and the
/// partitions each tag opened.
static RECORDED: std::sync::Mutex<Vec<(String, i32, i64)>> = std::sync::Mutex::new(Vec::new());
static OPENED: std::sync::Mutex<Vec<(String, i32)>> = std::sync::Mutex::new(Vec::new());

/// A sink connector whose tasks record every record they are given, tagged with `tag`.
#[derive(Default)]
struct RecordingSink {
    props: Props,
}

#[async_trait::async_trait]
impl Connector for RecordingSink {
    fn version(&self) -> String {
        "test".into()
    }
    fn config(&self) -> ConfigDef {
        ConfigDef::new()
    }
    async fn start(&mut self, props: Props, _ctx: Arc<dyn ConnectorContext>) -> ConnectResult<()> {
        self.props = props;
        Ok(())
    }
    async fn task_configs(&mut self, _max: usize) -> ConnectResult<Vec<Props>> {
        Ok(vec![self.props.clone()])
    }
    async fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}

impl SinkConnector for RecordingSink {
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::new(RecordingTask { tag: String::new() })
    }
}

struct RecordingTask {
    tag: String,
}

#[async_trait::async_trait]
impl SinkTask for RecordingTask {
    async fn start(&mut self, props: Props, _ctx: Arc<dyn SinkTaskContext>) -> ConnectResult<()> {
        self.tag = props.get("tag").cloned().unwrap_or_default();
        Ok(())
    }
    async fn open(&mut self, partitions: &[kaflow_runtime::connector::TopicPartition]) -> ConnectResult<()> {
        let mut opened = OPENED.lock().unwrap();
        opened.extend(partitions.iter().map(|tp| (self.tag.clone(), tp.partition)));
        Ok(())
    }
    async fn put(&mut self, records: Vec<SinkRecord>) -> ConnectResult<()> {
        let mut recorded = RECORDED.lock().unwrap();
        for r in records {
            recorded.push((
                self.tag.clone(),
                r.record.kafka_partition.unwrap(),
                r.kafka_offset,
            ));
        }
        Ok(())
    }
    async fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}

/// Writes `n` records round-robin over `partitions` partitions of an existing topic.
async fn produce_spread(bootstrap: &str, topic: &str, partitions: i32, n: i32) {
    let producer = Producer::connect(
        ProducerConfig::from_properties(&Properties::new().with("bootstrap.servers", bootstrap)).unwrap(),
    )
    .await
    .unwrap();
    let mut futs = Vec::new();
    for i in 0..n {
        let mut r = ProducerRecord::new(topic, Bytes::from(format!("\"{i}\"")));
        r.partition = Some(i % partitions);
        futs.push(producer.send(r).await.unwrap());
    }
    for f in futs {
        f.wait().await.unwrap();
    }
    producer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i24_revoked_partitions_are_committed_before_they_move() {
    let kafka = require_kafka!();
    let topic = unique_topic("revoke-commit");
    Admin::new(cluster(&kafka.bootstrap).await)
        .create_topic(NewTopic::new(&topic, 4))
        .await
        .unwrap();
    produce_spread(&kafka.bootstrap, &topic, 4, 2000).await;
    let name = format!("rec-{topic}");
    let start = |tag: &'static str| {
        let bootstrap = kafka.bootstrap.clone();
        let name = name.clone();
        let topic = topic.clone();
        async move {
            let mut plugins = Plugins::new();
            plugins.register_connector(
                "test.RecordingSink",
                "test",
                ConnectorFactory::Sink(|| Box::<RecordingSink>::default()),
            );
            // No periodic commit: only revocations and stops commit.
            let mut w = string_worker(&bootstrap, &dir(&format!("revoke-{tag}")), plugins, "600000").await;
            w.add_connector(props(&[
                ("name", &name),
                ("connector.class", "test.RecordingSink"),
                ("topics", &topic),
                ("tag", tag),
            ]))
            .await
            .unwrap();
            w
        }
    };
    let count = |tag: &str| RECORDED.lock().unwrap().iter().filter(|r| r.0 == tag).count();
    let mut a = start("a").await;
    wait_for("worker a to read the first 2000", || count("a") == 2000).await;
    let mut b = start("b").await;
    wait_for("worker b to be given partitions", || {
        OPENED.lock().unwrap().iter().any(|o| o.0 == "b")
    })
    .await;
    produce_spread(&kafka.bootstrap, &topic, 4, 2000).await;
    // Offsets of the second batch are 500..1000 in each partition.
    wait_for("all 4000 records to be put", || {
        RECORDED.lock().unwrap().len() >= 4000
    })
    .await;
    a.stop().await;
    b.stop().await;
    let recorded = RECORDED.lock().unwrap().clone();
    let mut seen = std::collections::BTreeSet::new();
    for (tag, p, o) in &recorded {
        assert!(
            seen.insert((*p, *o)),
            "partition {p} offset {o} put twice (second time by {tag})"
        );
    }
    assert_eq!(seen.len(), 4000, "every record put");
    assert!(count("b") > 0, "worker b took over partitions and read from them");
    assert!(
        recorded.iter().filter(|r| r.0 == "b").all(|r| r.2 >= 500),
        "worker b re-read records worker a had written before the rebalance"
    );
}
