//! `kaflow perf consume` against a real broker, as a user runs it (the built binary):
//! - it reads exactly the records a topic holds and its summary line, in ConsumerPerformance's
//!   ten columns, counts them and their key + value bytes;
//! - asking for more than there is ends after `--timeout` with Java's warning and the true count;
//! - `--messages` (deprecated) still works, with Java's warning, and `--hide-header` hides it;
//! - its header is byte for byte the header of Kafka's own ConsumerPerformance;
//! - missing `--num-records`, both `--num-records` and `--messages`, no `--bootstrap-server`,
//!   an unknown flag and a bad `--date-format` each fail with a message and a non-zero exit.

use bytes::Bytes;
use kaflow_client::admin::{Admin, NewTopic};
use kaflow_client::cluster::Cluster;
use kaflow_client::producer::{Producer, ProducerConfig, ProducerRecord};
use kaflow_client::{ClientConfig, Properties};
use kaflow_test_support::{kafka_tool, require_kafka, unique_topic};
use std::process::{Command, Output};

const HEADER: &str = "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, \
                      rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec";

/// Writes `n` records over the 3 partitions of a new topic: keys `k<i>` on every third record,
/// values of 50 + i % 7 bytes. Returns the key + value bytes written.
async fn fill(bootstrap: &str, topic: &str, n: usize) -> u64 {
    let cfg = ClientConfig::from_properties(&Properties::new().with("bootstrap.servers", bootstrap)).unwrap();
    let admin = Admin::new(Cluster::connect(cfg).await.unwrap());
    admin.create_topic(NewTopic::new(topic, 3)).await.unwrap();
    let producer = Producer::connect(
        ProducerConfig::from_properties(
            &Properties::new()
                .with("bootstrap.servers", bootstrap)
                .with("compression.type", "zstd"),
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let mut bytes = 0u64;
    let mut futs = Vec::with_capacity(n);
    for i in 0..n {
        let mut r = ProducerRecord::new(topic, Bytes::from(vec![b'v'; 50 + i % 7]));
        if i % 3 == 0 {
            let key = Bytes::from(format!("k{i}"));
            bytes += key.len() as u64;
            r.key = Some(key);
        }
        bytes += (50 + i % 7) as u64;
        r.partition = Some((i % 3) as i32);
        futs.push(producer.send(r).await.unwrap());
    }
    for f in futs {
        f.wait().await.unwrap();
    }
    producer.close().await;
    bytes
}

fn kaflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kaflow"))
        .arg("perf")
        .arg("consume")
        .args(args)
        .output()
        .expect("kaflow runs")
}

/// `kaflow perf consume --bootstrap-server B --topic T rest...`
fn consume(bootstrap: &str, topic: &str, rest: &[&str]) -> Output {
    let mut args = vec!["--bootstrap-server", bootstrap, "--topic", topic];
    args.extend_from_slice(rest);
    kaflow(&args)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The summary line's ten columns.
fn summary(stdout: &str) -> Vec<String> {
    let line = stdout
        .lines()
        .find(|l| l.split(", ").count() == 10 && l.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no summary line in:\n{stdout}"));
    line.split(", ").map(str::to_string).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_exactly_the_records_written_and_reports_them_in_javas_columns() {
    let kafka = require_kafka!();
    let topic = unique_topic("perf-consume");
    let n = 20_000;
    let bytes = fill(&kafka.bootstrap, &topic, n).await;

    let out = consume(
        &kafka.bootstrap,
        &topic,
        &["--num-records", &n.to_string(), "--timeout", "20000"],
    );
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}: {stdout}{}",
        out.status,
        text(&out.stderr)
    );
    assert_eq!(stdout.lines().next(), Some(HEADER));
    assert!(!stdout.contains("WARNING"), "{stdout}");
    let cols = summary(&stdout);
    assert_eq!(cols[4], n.to_string(), "data.consumed.in.nMsg");
    assert_eq!(
        cols[2],
        format!("{:.4}", bytes as f64 / 1048576.0),
        "data.consumed.in.MB"
    );
    // Start and end stamps in the default yyyy-MM-dd HH:mm:ss:SSS, end not before start.
    for stamp in &cols[..2] {
        assert_eq!(stamp.len(), 23, "{stamp}");
        assert_eq!(&stamp[10..11], " ");
        assert_eq!(&stamp[19..20], ":");
    }
    assert!(cols[1] >= cols[0], "{cols:?}");
    // rebalance.time.ms + fetch.time.ms is the whole run, both whole milliseconds.
    let rebalance: i64 = cols[6].parse().unwrap();
    let fetch: i64 = cols[7].parse().unwrap();
    assert!(rebalance >= 0 && fetch >= 0, "{cols:?}");
    let rate: f64 = cols[5].parse().unwrap();
    assert!(rate > 0.0, "{cols:?}");

    // More than the topic holds: the run ends after --timeout without records, with Java's
    // warning and the true count; the deprecated --messages still works.
    let started = std::time::Instant::now();
    let out = consume(
        &kafka.bootstrap,
        &topic,
        &[
            "--messages",
            &(n + 100).to_string(),
            "--timeout",
            "1500",
            "--hide-header",
            "--group",
            "perf-consume-more",
        ],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(started.elapsed() >= std::time::Duration::from_millis(1500));
    assert!(!stdout.contains("start.time"), "--hide-header: {stdout}");
    assert!(
        stdout.contains("Warning: --messages is deprecated. Use --num-records instead."),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "WARNING: Exiting before consuming the expected number of records: timeout (1500 ms) exceeded."
        ),
        "{stdout}"
    );
    assert_eq!(summary(&stdout)[4], n.to_string());

    // The same group again: auto-commit at close moved its offsets to the end, so there is
    // nothing left for it.
    let out = consume(
        &kafka.bootstrap,
        &topic,
        &[
            "--num-records",
            "1",
            "--timeout",
            "3000",
            "--group",
            "perf-consume-more",
        ],
    );
    assert!(out.status.success());
    assert_eq!(summary(&text(&out.stdout))[4], "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_is_the_java_tools_header() {
    let kafka = require_kafka!();
    let topic = unique_topic("perf-consume-java");
    fill(&kafka.bootstrap, &topic, 10).await;
    let java = kafka_tool(
        "org.apache.kafka.tools.ConsumerPerformance",
        &[
            "--bootstrap-server",
            &kafka.bootstrap,
            "--topic",
            &topic,
            "--num-records",
            "10",
        ],
    );
    let java_out = text(&java.stdout);
    assert!(java.status.success(), "{java_out}{}", text(&java.stderr));
    let ours = consume(&kafka.bootstrap, &topic, &["--num-records", "10"]);
    let our_out = text(&ours.stdout);
    assert!(ours.status.success(), "{our_out}");
    assert_eq!(our_out.lines().next(), java_out.lines().next());
    assert_eq!(summary(&our_out)[4], summary(&java_out)[4]);
    assert_eq!(summary(&our_out)[2], summary(&java_out)[2]);
}

#[test]
fn bad_flags_fail_with_a_message() {
    let b = "--bootstrap-server 127.0.0.1:1";
    let cases = [
        (
            format!("{b} --topic t"),
            "Exactly one of the following arguments is required: [messages], [num-records]",
        ),
        (
            format!("{b} --topic t --num-records 1 --messages 1"),
            "Exactly one of the following arguments is required: [messages], [num-records]",
        ),
        (
            "--topic t --num-records 1".to_string(),
            "Missing required argument \"[bootstrap-server]\"",
        ),
        (
            format!("{b} --num-records 1"),
            "Exactly one of the following arguments is required: [topic], [include]",
        ),
        (format!("{b} --topic t --num-records 1 --bogus"), "--bogus"),
        (
            format!("{b} --topic t --num-records 1 --date-format yyyy-bb"),
            "Illegal pattern character 'b'",
        ),
    ];
    for (args, message) in cases {
        let args: Vec<&str> = args.split(' ').collect();
        let out = kaflow(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!text(&out.stdout).contains("start.time"), "{args:?}");
    }
}
