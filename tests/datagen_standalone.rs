//! DatagenSource through `kaflow standalone` against a real broker (invariant V1):
//! - two tasks with `max.messages=N` put exactly 2N records in the topic — each (task, seq)
//!   once, values byte-exact (`{"task":T,"seq":N,"payload":"<record.size chars>"}` with the
//!   JsonConverter), keys the sequence numbers — and then idle: nothing more arrives;
//! - a clean stop mid-stream and a restart resume after the committed sequence numbers: still
//!   exactly 2N, no record re-sent;
//! - a kill -9 mid-stream and a restart: every seq arrives; the records sent again are exactly
//!   those past the committed seq (read from the offsets file right after the kill), byte for
//!   byte the same; tasks that had finished send nothing more;
//! - the bytes shape with a connector-level ByteArrayConverter writes `record.size` raw bytes;
//! - bad datagen keys stop `kaflow standalone` with every bad key named.

use kaflow_client::admin::{Admin, NewTopic};
use kaflow_client::cluster::Cluster;
use kaflow_client::consumer::{Consumer, ConsumerConfig, ConsumerRecord};
use kaflow_client::group::TopicPartition;
use kaflow_client::{ClientConfig, Properties};
use kaflow_connectors::datagen::generator::{bytes_payload, printable_payload};
use kaflow_runtime::data::{SourceMap, Value};
use kaflow_runtime::storage::{offset_codec, OffsetFile};
use kaflow_test_support::process::{fresh_dir, kill_hard, spawn_standalone, stop_cleanly};
use kaflow_test_support::{require_kafka, unique_topic};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Records per task.
const N: u64 = 3_000;
/// Records per second per task: slow enough to stop the worker mid-stream.
const RATE: u64 = 1_500;
const SIZE: usize = 64;
const BYTES_N: u64 = 400;
const BYTES_SIZE: usize = 1_000;
/// The connector killed mid-stream: one task, slower, so the kill finds it half-way.
const CRASH: &str = "datagen-crash";
const CRASH_N: u64 = 4_000;
const CRASH_RATE: u64 = 500;
const STRING: &str = "org.apache.kafka.connect.storage.StringConverter";

/// Reads one topic's partition 0 from the beginning, keeping what it has read.
struct TopicReader {
    consumer: Consumer,
    records: Vec<ConsumerRecord>,
}

impl TopicReader {
    async fn new(bootstrap: &str, topic: &str) -> Self {
        let cfg =
            ConsumerConfig::from_properties(&Properties::new().with("bootstrap.servers", bootstrap)).unwrap();
        let mut consumer = Consumer::connect(cfg).await.unwrap();
        let tp = TopicPartition::new(topic, 0);
        consumer.assign([tp.clone()]);
        consumer.seek(&tp, 0).unwrap();
        TopicReader {
            consumer,
            records: Vec::new(),
        }
    }

    /// Reads until at least `n` records were read (fails after 60 s).
    async fn until(&mut self, n: usize) -> &[ConsumerRecord] {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.records.len() < n {
            assert!(
                Instant::now() < deadline,
                "{} of {n} records after 60 s",
                self.records.len()
            );
            let got = self.consumer.poll(Duration::from_millis(200)).await.unwrap();
            self.records.extend(got);
        }
        &self.records
    }

    /// Reads whatever arrives during `d`.
    async fn settle(&mut self, d: Duration) -> &[ConsumerRecord] {
        let end = Instant::now() + d;
        while Instant::now() < end {
            let got = self.consumer.poll(Duration::from_millis(200)).await.unwrap();
            self.records.extend(got);
        }
        &self.records
    }
}

/// The JsonConverter's text for a datagen json record (schemas off, fields in schema order).
/// The committed `{"seq"}` of task 0 of `connector` in the standalone offsets file (-1: none).
fn committed_seq(offsets: &Path, connector: &str) -> i64 {
    let store = OffsetFile::open(offsets).unwrap();
    let partition = SourceMap::from([("task".to_string(), Value::Int32(0))]);
    match store
        .get(&offset_codec::key(connector, &partition))
        .and_then(offset_codec::parse_value)
        .and_then(|o| o.get("seq").cloned())
    {
        Some(Value::Int64(n)) => n,
        Some(Value::Int32(n)) => i64::from(n),
        _ => -1,
    }
}

/// Reads the crash topic until every seq in `0..CRASH_N` was seen (keys are the seqs).
async fn read_every_seq(reader: &mut TopicReader) -> Vec<ConsumerRecord> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = reader.settle(Duration::from_millis(200)).await;
        let distinct: std::collections::BTreeSet<_> = got.iter().map(|r| r.key.clone()).collect();
        if distinct.len() as u64 >= CRASH_N {
            // Anything still in flight.
            return reader.settle(Duration::from_millis(500)).await.to_vec();
        }
        assert!(
            Instant::now() < deadline,
            "{} of {CRASH_N} seqs after 60 s",
            distinct.len()
        );
    }
}

fn json_value(task: u32, seq: u64) -> String {
    format!(
        r#"{{"task":{task},"seq":{seq},"payload":"{}"}}"#,
        printable_payload(task, seq, SIZE)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_datagen_sends_max_messages_once_across_a_clean_restart_and_resends_only_past_the_commit_after_a_kill(
) {
    let kafka = require_kafka!();
    let json_topic = unique_topic("datagen-json");
    let bytes_topic = unique_topic("datagen-bytes");
    let crash_topic = unique_topic("datagen-crash");
    let cluster = Cluster::connect(
        ClientConfig::from_properties(&Properties::new().with("bootstrap.servers", &kafka.bootstrap))
            .unwrap(),
    )
    .await
    .unwrap();
    let admin = Admin::new(cluster);
    for t in [&json_topic, &bytes_topic, &crash_topic] {
        admin.create_topic(NewTopic::new(t, 1)).await.unwrap();
    }

    let d = fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "datagen");
    let json = "org.apache.kafka.connect.json.JsonConverter";
    std::fs::write(
        d.join("worker.properties"),
        format!(
            "bootstrap.servers={}\nkey.converter={json}\nvalue.converter={json}\n\
             key.converter.schemas.enable=false\nvalue.converter.schemas.enable=false\n\
             offset.storage.file.filename={}\noffset.flush.interval.ms=300\n\
             listeners=http://127.0.0.1:0\n",
            kafka.bootstrap,
            d.join("connect.offsets").display()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("json.properties"),
        format!(
            "name=datagen-json\nconnector.class=DatagenSource\ntasks.max=2\ntopic={json_topic}\n\
             max.messages={N}\nmessages.per.second={RATE}\nrecord.size={SIZE}\nkey.shape=seq\n\
             batch.size=100\n"
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("bytes.properties"),
        format!(
            "name=datagen-bytes\nconnector.class=io.kaflow.connect.datagen.DatagenSourceConnector\n\
             topic={bytes_topic}\nmax.messages={BYTES_N}\nrecord.shape=bytes\nrecord.size={BYTES_SIZE}\n\
             value.converter=org.apache.kafka.connect.converters.ByteArrayConverter\n"
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("crash.properties"),
        format!(
            "name={CRASH}\nconnector.class=DatagenSource\ntopic={crash_topic}\nmax.messages={CRASH_N}\n\
             messages.per.second={CRASH_RATE}\nrecord.shape=string\nrecord.size={SIZE}\nkey.shape=seq\n\
             value.converter={STRING}\n"
        ),
    )
    .unwrap();
    let files = [
        "worker.properties",
        "json.properties",
        "bytes.properties",
        "crash.properties",
    ];
    let exe = env!("CARGO_BIN_EXE_kaflow");
    let mut topic = TopicReader::new(&kafka.bootstrap, &json_topic).await;

    // Stop cleanly mid-stream (about a third in), then restart on the same offsets file.
    let worker = spawn_standalone(exe, &d, &files);
    let before = topic.until(2_000).await.len();
    stop_cleanly(worker);
    let at_stop = topic.settle(Duration::from_millis(500)).await.len();
    assert!(
        (at_stop as u64) < 2 * N,
        "the stop came mid-stream ({before} read when it was sent, {at_stop} after)"
    );
    let worker = spawn_standalone(exe, &d, &files);
    topic.until(2 * N as usize).await;
    // Finished tasks idle: nothing more arrives.
    let all = topic.settle(Duration::from_millis(1_500)).await.to_vec();

    // kill -9 while the crash connector is mid-stream; its committed seq is read before the
    // restart. Records past it are sent again, nothing at or below it.
    let mut crash = TopicReader::new(&kafka.bootstrap, &crash_topic).await;
    crash.until(1_000).await;
    kill_hard(worker);
    let at_kill = crash.settle(Duration::from_millis(300)).await.len() as u64;
    assert!(at_kill < CRASH_N, "the kill came mid-stream ({at_kill} records)");
    let committed = committed_seq(&d.join("connect.offsets"), CRASH);
    let worker = spawn_standalone(exe, &d, &files);
    let crashed = read_every_seq(&mut crash).await;
    assert_eq!(
        topic.settle(Duration::from_millis(500)).await.len() as u64,
        2 * N,
        "finished tasks send nothing after a crash"
    );
    stop_cleanly(worker);
    let mut copies: BTreeMap<u64, usize> = BTreeMap::new();
    for r in &crashed {
        let seq: u64 = std::str::from_utf8(r.key.as_deref().expect("a key"))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            r.value.as_deref(),
            Some(printable_payload(0, seq, SIZE).as_bytes()),
            "seq {seq} (a re-sent record is identical)"
        );
        *copies.entry(seq).or_default() += 1;
    }
    assert_eq!(copies.len() as u64, CRASH_N, "every seq after the kill");
    let resent: Vec<u64> = copies.iter().filter(|(_, &c)| c > 1).map(|(&s, _)| s).collect();
    eprintln!(
        "kill -9 at {at_kill} records, committed seq {committed}: {} re-sent ({:?}..={:?})",
        resent.len(),
        resent.first(),
        resent.last()
    );
    assert!(copies.values().all(|&c| c <= 2), "at most one extra copy");
    assert!(
        resent.iter().all(|&s| s as i64 > committed),
        "nothing at or below the committed seq {committed} re-sent: {resent:?}"
    );

    assert_eq!(
        all.len() as u64,
        2 * N,
        "exactly max.messages per task, nothing re-sent after the clean restart"
    );
    let mut seen: BTreeMap<(u32, u64), usize> = BTreeMap::new();
    for r in &all {
        let value = r.value.as_deref().expect("a value");
        let parsed: Vec<&str> = std::str::from_utf8(value).unwrap().splitn(3, ',').collect();
        let task: u32 = parsed[0].trim_start_matches(r#"{"task":"#).parse().unwrap();
        let seq: u64 = parsed[1].trim_start_matches(r#""seq":"#).parse().unwrap();
        assert_eq!(
            value,
            json_value(task, seq).as_bytes(),
            "record at offset {}",
            r.offset
        );
        assert_eq!(r.key.as_deref(), Some(seq.to_string().as_bytes()));
        *seen.entry((task, seq)).or_default() += 1;
    }
    let want: Vec<(u32, u64)> = (0..2).flat_map(|t| (0..N).map(move |s| (t, s))).collect();
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        want,
        "every (task, seq) present"
    );
    assert!(seen.values().all(|&c| c == 1), "each (task, seq) once");
    // Each task's records are in sequence order within the partition.
    for t in 0..2u32 {
        let prefix = format!(r#"{{"task":{t},"#);
        let order: Vec<u64> = all
            .iter()
            .filter_map(|r| {
                let v = std::str::from_utf8(r.value.as_deref()?).ok()?;
                v.starts_with(&prefix).then_some(r.key.as_deref())?
            })
            .map(|k| std::str::from_utf8(k).unwrap().parse().unwrap())
            .collect();
        assert_eq!(order, (0..N).collect::<Vec<_>>(), "task {t} in order");
    }

    let mut bytes = TopicReader::new(&kafka.bootstrap, &bytes_topic).await;
    let got = bytes.settle(Duration::from_millis(1_000)).await;
    assert_eq!(got.len() as u64, BYTES_N, "bytes shape: exactly max.messages");
    for (seq, r) in got.iter().enumerate() {
        assert_eq!(r.key, None, "key.shape=none");
        assert_eq!(
            r.value.as_deref(),
            Some(bytes_payload(0, seq as u64, BYTES_SIZE).as_slice()),
            "raw bytes of record {seq}"
        );
    }
}

#[test]
fn bad_datagen_configs_fail_naming_every_bad_key() {
    let kafka = require_kafka!();
    let d = fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "datagen-bad");
    std::fs::write(
        d.join("worker.properties"),
        format!(
            "bootstrap.servers={}\nkey.converter={STRING}\nvalue.converter={STRING}\n\
             offset.storage.file.filename={}\nlisteners=http://127.0.0.1:0\n",
            kafka.bootstrap,
            d.join("connect.offsets").display()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("bad.properties"),
        "name=bad\nconnector.class=DatagenSource\ntopic=t\nrecord.shape=avro\nmax.messages=-5\n\
         messages.per.second=0\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kaflow"))
        .args(["standalone", "worker.properties", "bad.properties"])
        .current_dir(&d)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    for key in ["record.shape", "max.messages", "messages.per.second"] {
        assert!(err.contains(key), "{key} not named in:\n{err}");
    }
}
