//! What Apache Kafka's own Java producers write (4.3.1, real broker), kaflow's consumer reads
//! exactly:
//! - Kafka's `ProducerPerformance`, each codec (none, gzip, snappy, lz4, zstd): every record,
//!   once, offsets contiguous per partition up to `GetOffsetShell`'s end offsets, 100 bytes each;
//! - Kafka's `ConsoleProducer` with keys and headers: the exact bytes, in send order;
//! - a Java transactional producer committing some transactions and aborting others:
//!   `read_committed` sees exactly the committed records, in order, and `read_uncommitted` sees
//!   every data record, never a transaction marker.

use kaflow_client::admin::{Admin, NewTopic, OffsetSpec};
use kaflow_client::consumer::{Consumer, ConsumerConfig, ConsumerRecord, TopicPartition};
use kaflow_client::{ClientConfig, Properties};
use kaflow_test_support::seq::log_end_offsets;
use kaflow_test_support::{kafka_tool, repo_root, require_kafka, unique_topic};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

async fn create_topic(bootstrap: &str, prefix: &str, partitions: i32) -> String {
    let topic = unique_topic(prefix);
    let admin = Admin::connect(ClientConfig::new(bootstrap).unwrap())
        .await
        .unwrap();
    admin
        .create_topic(NewTopic::new(&topic, partitions))
        .await
        .unwrap();
    admin.list_offsets(&topic, &[], OffsetSpec::Latest).await.unwrap();
    topic
}

async fn consume_all(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    isolation: &str,
    expect: usize,
) -> Vec<ConsumerRecord> {
    let p = Properties::new()
        .with("bootstrap.servers", bootstrap)
        .with("auto.offset.reset", "earliest")
        .with("isolation.level", isolation);
    let mut c = Consumer::connect(ConsumerConfig::from_properties(&p).unwrap())
        .await
        .unwrap();
    c.assign((0..partitions).map(|i| TopicPartition::new(topic, i)));
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while out.len() < expect && tokio::time::Instant::now() < deadline {
        out.extend(c.poll(Duration::from_millis(500)).await.unwrap());
    }
    // Nothing more arrives after the expected count (no duplicates, no stray markers).
    out.extend(c.poll(Duration::from_millis(1000)).await.unwrap());
    out
}

#[tokio::test]
async fn every_codec_written_by_java_producer_performance_is_read_exactly() {
    let kafka = require_kafka!();
    let bootstrap = kafka.bootstrap.as_str();
    const N: usize = 200_000;
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = create_topic(bootstrap, &format!("consume-perf-{codec}"), 6).await;
        let props = format!("bootstrap.servers={bootstrap}");
        let codec_prop = format!("compression.type={codec}");
        let out = kafka_tool(
            "org.apache.kafka.tools.ProducerPerformance",
            &[
                "--topic",
                &topic,
                "--num-records",
                &N.to_string(),
                "--record-size",
                "100",
                "--throughput",
                "-1",
                "--producer-props",
                &props,
                &codec_prop,
                "acks=all",
                "linger.ms=5",
            ],
        );
        assert!(
            out.status.success(),
            "ProducerPerformance ({codec}): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ends = log_end_offsets(bootstrap, &topic);
        assert_eq!(
            ends.values().sum::<i64>() as usize,
            N,
            "{codec}: GetOffsetShell total"
        );

        let started = std::time::Instant::now();
        let got = consume_all(bootstrap, &topic, 6, "read_uncommitted", N).await;
        assert_eq!(got.len(), N, "{codec}: every record exactly once");
        let mut next: BTreeMap<i32, i64> = BTreeMap::new();
        for r in &got {
            let n = next.entry(r.partition).or_insert(0);
            assert_eq!(
                r.offset, *n,
                "{codec}: partition {} offsets contiguous and in order",
                r.partition
            );
            *n += 1;
            assert_eq!(
                r.value.as_ref().map(|v| v.len()),
                Some(100),
                "{codec}: 100-byte values"
            );
        }
        for (p, end) in &ends {
            assert_eq!(
                next.get(p).copied().unwrap_or(0),
                *end,
                "{codec}: partition {p} read to its end"
            );
        }
        eprintln!("{codec}: {N} records read in {:?}", started.elapsed());
    }
}

#[tokio::test]
async fn console_producer_keys_values_and_headers_are_read_byte_for_byte_in_order() {
    let kafka = require_kafka!();
    let bootstrap = kafka.bootstrap.as_str();
    let topic = create_topic(bootstrap, "consume-console", 1).await;
    // ConsoleProducer line format with parse.headers and parse.key: headers TAB key TAB value.
    let lines: Vec<(String, String, String, String)> = (0..500)
        .map(|i| {
            (
                format!("h{i}"),
                format!("x{}", i * 7),
                format!("key-{i}"),
                format!("value {i} \u{e9}\u{4e16}"),
            )
        })
        .collect();
    let mut input = String::new();
    for (hk, hv, k, v) in &lines {
        input.push_str(&format!("{hk}:{hv},dup:1,dup:2\t{k}\t{v}\n"));
    }
    let mut child = Command::new("bash")
        .arg(repo_root().join("scripts/kafka.sh"))
        .args([
            "tool",
            "org.apache.kafka.tools.ConsoleProducer",
            "--bootstrap-server",
            bootstrap,
            "--topic",
            &topic,
        ])
        .args([
            "--reader-property",
            "parse.key=true",
            "--reader-property",
            "parse.headers=true",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ConsoleProducer");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "ConsoleProducer: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let got = consume_all(bootstrap, &topic, 1, "read_uncommitted", lines.len()).await;
    assert_eq!(got.len(), lines.len());
    for (r, (hk, hv, k, v)) in got.iter().zip(&lines) {
        assert_eq!(r.key.as_deref(), Some(k.as_bytes()));
        assert_eq!(r.value.as_deref(), Some(v.as_bytes()));
        let headers: Vec<(&[u8], Option<&[u8]>)> = r
            .headers
            .iter()
            .map(|h| (&h.key[..], h.value.as_deref()))
            .collect();
        let want: Vec<(&[u8], Option<&[u8]>)> = vec![
            (hk.as_bytes(), Some(hv.as_bytes())),
            (b"dup", Some(b"1")),
            (b"dup", Some(b"2")),
        ];
        assert_eq!(headers, want, "headers in order, duplicates kept");
    }
}

#[tokio::test]
async fn read_committed_sees_exactly_the_transactions_java_committed() {
    let kafka = require_kafka!();
    let bootstrap = kafka.bootstrap.as_str();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/java/JavaTxnProducer.java");
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("java-txn-producer");
    let Some(java) = kaflow_test_support::java::compile(&src, &out_dir) else {
        return;
    };
    let topic = create_topic(bootstrap, "consume-txn", 3).await;
    let (txns, per_txn) = (30usize, 20usize);
    java.run(&[bootstrap, &topic, "3", &txns.to_string(), &per_txn.to_string()]);

    let committed: Vec<String> = (0..txns)
        .filter(|t| t % 3 != 1)
        .flat_map(|t| (0..per_txn).map(move |s| format!("t={t};s={s};committed")))
        .collect();
    let all = txns * per_txn;

    let got = consume_all(bootstrap, &topic, 3, "read_committed", committed.len()).await;
    let values: Vec<String> = got
        .iter()
        .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap()).into_owned())
        .collect();
    assert!(
        values.iter().all(|v| v.ends_with(";committed")),
        "no aborted record under read_committed"
    );
    assert_eq!(
        values.len(),
        committed.len(),
        "every committed record exactly once"
    );
    // Per partition, the committed records in send order.
    for p in 0..3usize {
        let want: Vec<&String> = committed
            .iter()
            .filter(|v| {
                v.split(";s=")
                    .nth(1)
                    .unwrap()
                    .split(';')
                    .next()
                    .unwrap()
                    .parse::<usize>()
                    .unwrap()
                    % 3
                    == p
            })
            .collect();
        let seen: Vec<&String> = got
            .iter()
            .zip(&values)
            .filter(|(r, _)| r.partition as usize == p)
            .map(|(_, v)| v)
            .collect();
        assert_eq!(seen, want, "partition {p}");
    }

    let every = consume_all(bootstrap, &topic, 3, "read_uncommitted", all).await;
    assert_eq!(
        every.len(),
        all,
        "read_uncommitted: every data record, no markers"
    );
    let aborted = every
        .iter()
        .filter(|r| r.value.as_deref().unwrap().ends_with(b";aborted"))
        .count();
    assert_eq!(aborted, (0..txns).filter(|t| t % 3 == 1).count() * per_txn);
}
